package netup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/nclient6"
	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Backoff of DHCP attempts: each waits for answers twice as long as the
// previous one, from firstTry up to maxTry.
const (
	firstTry = time.Second
	maxTry   = 16 * time.Second
)

// bringup is one run of Up on the links it brings up.
type bringup struct {
	o       Options
	sys     sys
	start   time.Time
	results chan result
	// seeded is closed when the kernel's random number generator is
	// initialized (sys.waitRandom returned): DHCP waits for it.
	seeded  chan struct{}
	lastErr map[string]error // "eth0 DHCPv4" -> its last failure; run's goroutine only
	dns     []net.IP         // every name server leases gave
	search  []string
	domain  string
	// dnsSkipped: resolv.conf is on a disk; said once.
	dnsSkipped bool
}

// result is the outcome of one DHCP attempt.
type result struct {
	link  netlink.Link
	proto string // "DHCPv4" or "DHCPv6"
	v4    *dhcpv4.DHCPv4
	v6    *dhcpv6.Message
	err   error
}

func (r result) key() string { return r.link.Attrs().Name + " " + r.proto }

// run brings links up, starts DHCP on each and waits until one is ready.
func (b *bringup) run(ctx context.Context, links []Link) error {
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	// Not waited for: it ends when the kernel's generator is ready,
	// which cancelling cannot hasten.
	go func() {
		b.sys.waitRandom()
		close(b.seeded)
	}()
	for _, l := range links {
		nl, err := netlink.LinkByName(l.Name)
		if err == nil && !l.Up {
			err = netlink.LinkSetUp(nl)
		}
		if err != nil {
			b.o.logf("network: %s: cannot bring the link up: %v", l.Name, err)
			continue
		}
		b.o.logf("network: %s link up, DHCPv4, DHCPv6 and SLAAC (waiting up to %v)", l.Name, b.o.Wait)
		for _, proto := range []string{"DHCPv4", "DHCPv6"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.retry(wctx, nl, proto)
			}()
		}
	}
	tick := time.NewTicker(b.sys.poll)
	defer tick.Stop()
	for {
		if done, err := b.ready(); done || err != nil {
			return err
		}
		select {
		case r := <-b.results:
			b.record(r)
		case <-tick.C:
		case <-ctx.Done():
			return b.failure(ctx)
		}
	}
}

// ready reports whether a link is ready, and logs it. Lists the kernel
// kept interrupting (addresses changing all the while) are not an error:
// the next tick looks again.
func (b *bringup) ready() (bool, error) {
	links, err := snapshot()
	if errors.Is(err, unix.EINTR) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l, a, ok := ready(links)
	if ok {
		b.o.logf("network: up after %.1f s: %s %v", time.Since(b.start).Seconds(), l.Name, a.Prefix)
	}
	return ok, nil
}

// failure is Up's error when the wait ends.
func (b *bringup) failure(ctx context.Context) error {
	var tried []string
	for k, err := range b.lastErr {
		tried = append(tried, fmt.Sprintf("%s: %v", k, err))
	}
	sort.Strings(tried)
	why := "no DHCP answer and no IPv6 router advertisement"
	if len(tried) > 0 {
		why = strings.Join(tried, "; ")
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("network: no interface got an address and a route within %v (%s); check the cable, the switch port and the DHCP server or router, or configure the network before ukiboot and use -net off", b.o.Wait, why)
	}
	return fmt.Errorf("network: bring-up cancelled after %.1f s (%s)", time.Since(b.start).Seconds(), why)
}

// record configures the link from a lease, or notes a failure (the first
// of each link and protocol is logged). A lease that cannot be applied is
// not retried: retry stops at the first lease.
func (b *bringup) record(r result) {
	next := "retrying"
	if r.err == nil {
		r.err = b.configure(r)
		if r.err == nil {
			// Said only if the wait ends before a route comes.
			b.lastErr[r.key()] = errors.New("address configured, but no route (IPv6 routes come from router advertisements)")
			return
		}
		next = "not retried; the other protocol and SLAAC go on"
	}
	var wait notYet
	if _, seen := b.lastErr[r.key()]; !seen && !errors.As(r.err, &wait) {
		b.o.logf("network: %s: %v (%s)", r.key(), r.err, next)
	}
	b.lastErr[r.key()] = r.err
}

// retry runs DHCP attempts of proto on link with backoff until one gets a
// lease or ctx ends, and hands every outcome to run.
func (b *bringup) retry(ctx context.Context, link netlink.Link, proto string) {
	for try := firstTry; ; try = min(2*try, maxTry) {
		begun := time.Now()
		r := result{link: link, proto: proto}
		switch {
		case !b.waitFor(ctx, try, func() bool { return hasCarrier(link) }):
			r.err = notYet("no carrier (check the cable and the switch port)")
		case proto == "DHCPv6" && !b.waitFor(ctx, try, func() bool { return hasLinkLocal(link) }):
			r.err = notYet("no usable link-local IPv6 address yet")
		case !b.waitSeeded(ctx, try):
			r.err = notYet("the kernel's random number generator is not initialized yet (DHCP needs random transaction IDs; a hardware RNG, RDRAND or virtio-rng, initializes it at boot)")
		case proto == "DHCPv4":
			r.v4, r.err = lease4(ctx, link, try)
		default:
			r.v6, r.err = lease6(ctx, link, try)
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case b.results <- r:
		case <-ctx.Done():
			return
		}
		if r.err == nil {
			return
		}
		// An attempt that failed at once (no link-local address yet)
		// still waits its turn.
		t := time.NewTimer(try - time.Since(begun))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// notYet is a failure that is a wait for the link, not logged as it
// happens (it is in Up's error when the wait ends).
type notYet string

func (e notYet) Error() string { return string(e) }

// waitFor polls cond until it holds (true), max passes or ctx ends.
func (b *bringup) waitFor(ctx context.Context, max time.Duration, cond func() bool) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	tick := time.NewTicker(b.sys.poll)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// waitSeeded waits up to max for the kernel's random number generator
// (b.seeded), and reports whether it is ready. The DHCP clients take their
// transaction IDs from u-root's uio/rand, which polls getrandom(2) with
// GRND_NONBLOCK until the generator is ready, ignoring cancellation: an
// attempt started before would outlive Up, and never sends a packet until
// then.
func (b *bringup) waitSeeded(ctx context.Context, max time.Duration) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-b.seeded:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// hasCarrier reports whether link can send (packets sent before are lost).
func hasCarrier(link netlink.Link) bool {
	nl, err := netlink.LinkByIndex(link.Attrs().Index)
	if err != nil {
		return false
	}
	o := nl.Attrs().OperState
	return o == netlink.OperUp || o == netlink.OperUnknown
}

// hasLinkLocal reports whether link has a link-local IPv6 address whose
// duplicate address detection is done: DHCPv6 is sent from it.
func hasLinkLocal(link netlink.Link) bool {
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return true
		}
	}
	return false
}

// lease4 is one DHCPv4 exchange on link, waiting up to try for each answer.
func lease4(ctx context.Context, link netlink.Link, try time.Duration) (*dhcpv4.DHCPv4, error) {
	c, err := nclient4.New(link.Attrs().Name, nclient4.WithTimeout(try), nclient4.WithRetry(1))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	l, err := c.Request(ctx, dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
		dhcpv4.OptionClasslessStaticRoute, dhcpv4.OptionDomainNameServer, dhcpv4.OptionDomainName,
		dhcpv4.OptionDNSDomainSearchList))
	if err != nil {
		return nil, noAnswer(err, try)
	}
	return l.ACK, nil
}

// lease6 is one DHCPv6 exchange (Rapid Commit) on link.
func lease6(ctx context.Context, link netlink.Link, try time.Duration) (*dhcpv6.Message, error) {
	name := link.Attrs().Name
	conn, err := nclient6.NewIPv6UDPConn(name, dhcpv6.DefaultClientPort)
	if err != nil {
		return nil, err
	}
	c, err := nclient6.NewWithConn(conn, link.Attrs().HardwareAddr, nclient6.WithTimeout(try), nclient6.WithRetry(1))
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer c.Close()
	m, err := c.RapidSolicit(ctx, dhcpv6.WithRequestedOptions(dhcpv6.OptionDNSRecursiveNameServer, dhcpv6.OptionDomainSearchList))
	if err != nil {
		return nil, noAnswer(err, try)
	}
	return m, nil
}

// noAnswer words a timeout of the DHCP clients.
func noAnswer(err error, try time.Duration) error {
	if errors.Is(err, nclient4.ErrNoResponse) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out") {
		return fmt.Errorf("no answer within %v", try)
	}
	return err
}

// configure applies a lease to its link: the address, the routes (DHCPv4)
// and, when the lease names DNS servers, /etc/resolv.conf.
func (b *bringup) configure(r result) error {
	if r.v4 != nil {
		return b.configure4(r.link, dhclient.NewPacket4(r.link, r.v4))
	}
	return b.configure6(r.link, dhclient.NewPacket6(r.link, r.v6))
}

func (b *bringup) configure4(link netlink.Link, p *dhclient.Packet4) error {
	ipnet := p.Lease()
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("adding the leased address %v: %v", ipnet, err)
	}
	for _, rt := range routes4(link, p.P) {
		if err := netlink.RouteReplace(rt); err != nil {
			return fmt.Errorf("adding the route %v: %v", rt, err)
		}
	}
	b.o.logf("network: %s DHCPv4: %v from %v", link.Attrs().Name, ipnet, p.P.ServerIdentifier())
	ns, sl, dom := p.GatherDNSSettings()
	return b.addDNS(ns, sl, dom)
}

// routes4 are the routes of a DHCPv4 lease: its classless static routes
// (RFC 3442: they replace the router option), else a default route
// through its first router.
func routes4(link netlink.Link, p *dhcpv4.DHCPv4) []*netlink.Route {
	idx := link.Attrs().Index
	var rs []*netlink.Route
	if csr := p.ClasslessStaticRoute(); csr != nil {
		for _, r := range csr {
			rt := &netlink.Route{LinkIndex: idx, Dst: r.Dest, Gw: r.Router}
			if r.Router == nil || r.Router.IsUnspecified() {
				rt.Gw, rt.Scope = nil, netlink.SCOPE_LINK
			}
			rs = append(rs, rt)
		}
		return rs
	}
	if gw := p.Router(); len(gw) > 0 {
		rs = append(rs, &netlink.Route{LinkIndex: idx, Gw: gw[0]})
	}
	return rs
}

func (b *bringup) configure6(link netlink.Link, p *dhclient.Packet6) error {
	ia := p.Lease()
	if ia == nil {
		return errors.New("the answer has no address")
	}
	// DHCPv6 says nothing of on-link prefixes: the address is a /128,
	// the routes come from router advertisements (RFC 5942).
	ipnet := &net.IPNet{IP: ia.IPv6Addr, Mask: net.CIDRMask(128, 128)}
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("adding the leased address %v: %v", ipnet, err)
	}
	b.o.logf("network: %s DHCPv6: %v", link.Attrs().Name, ipnet)
	return b.addDNS(p.DNS(), nil, "")
}

// addDNS adds name servers to those of earlier leases and, when there are
// any, writes them all to resolv.conf (in the ROM, a file of the
// initramfs's tmpfs).
func (b *bringup) addDNS(ns []net.IP, search []string, domain string) error {
	added := false
	for _, ip := range ns {
		if !slices.ContainsFunc(b.dns, ip.Equal) {
			b.dns = append(b.dns, ip)
			added = true
		}
	}
	if b.domain == "" && domain != "" {
		b.domain, added = domain, true
	}
	if len(b.search) == 0 && len(search) > 0 {
		b.search, added = search, true
	}
	if !added || len(b.dns) == 0 {
		return nil
	}
	if ram, err := b.sys.inRAM(b.sys.resolvConf); err != nil || !ram {
		if !b.dnsSkipped {
			b.o.logf("network: name servers %v not written: %s is not in memory (%v), and ukiboot writes to no disk; use IP addresses in URLs", b.dns, b.sys.resolvConf, err)
			b.dnsSkipped = true
		}
		return nil
	}
	if err := dhclient.WriteDNSSettings(b.dns, b.search, b.domain, b.sys.resolvConf); err != nil {
		return fmt.Errorf("writing the DNS servers to %s: %w", b.sys.resolvConf, err)
	}
	return nil
}
