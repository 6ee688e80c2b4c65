package netup

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/dhcpv6/server6"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inNetnsEnv marks the test process that runs in its own network
// namespace; the tests never touch the host's interfaces.
const inNetnsEnv = "NETUP_TEST_IN_NETNS"

// inFreshNetns runs the test named name again in a child process in a new
// network namespace and reports its outcome, and returns false; in that
// child it checks the namespace is fresh (only lo) and returns true.
func inFreshNetns(t *testing.T, name string) bool {
	t.Helper()
	if os.Getenv(inNetnsEnv) != "" {
		links, err := netlink.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		if len(links) != 1 || links[0].Attrs().Name != "lo" {
			t.Fatalf("not in a fresh network namespace (%d links); refusing to touch them", len(links))
		}
		if err := netlink.LinkSetUp(links[0]); err != nil {
			t.Fatal(err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs DHCP in a new network namespace with a veth pair")
	}
	var run []string
	for _, part := range strings.Split(name, "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		t.Skipf("network namespaces are unavailable: %v", err)
	case strings.Contains(string(out), "--- SKIP: "+name):
		t.Skipf("skipped in the network namespace:\n%s", out)
	case err != nil:
		t.Fatalf("in a network namespace: %v\n%s", err, out)
	}
	t.Logf("in a network namespace:\n%s", out)
	return false
}

// vethToServer makes the veth pair nu0 (here) - nu1 (in a second new
// namespace, with 10.99.0.1/24, up) and runs serve there, on a thread
// that ends with it: the socket serve opens stays in that namespace.
func vethToServer(t *testing.T, serve func() error) netlink.Link {
	t.Helper()
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "nu0"}, PeerName: "nu1"}); err != nil {
		t.Skipf("cannot make a veth pair: %v", err)
	}
	here, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer here.Close()
	done := make(chan error)
	go func() {
		// Never unlocked: the thread, in the server's namespace, ends
		// with this goroutine.
		runtime.LockOSThread()
		done <- serverSide(here, serve)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	nu0, err := netlink.LinkByName("nu0")
	if err != nil {
		t.Fatal(err)
	}
	return nu0
}

// serverSide moves this thread to a new namespace, moves nu1 there and
// configures it, then calls serve.
func serverSide(here netns.NsHandle, serve func() error) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return err
	}
	there, err := netns.Get()
	if err != nil {
		return err
	}
	defer there.Close()
	h, err := netlink.NewHandleAt(here)
	if err != nil {
		return err
	}
	defer h.Close()
	nu1, err := h.LinkByName("nu1")
	if err != nil {
		return err
	}
	if err := h.LinkSetNsFd(nu1, int(there)); err != nil {
		return err
	}
	if nu1, err = netlink.LinkByName("nu1"); err != nil {
		return err
	}
	// The server answers DHCPv6 from its link-local address at once
	// (without IPv6, only the DHCPv6 test fails). /proc/sys/net is this
	// thread's namespace's.
	os.WriteFile("/proc/sys/net/ipv6/conf/nu1/accept_dad", []byte("0"), 0o644)
	if err := netlink.AddrAdd(nu1, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 99, 0, 1), Mask: net.CIDRMask(24, 32)}}); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(nu1); err != nil {
		return err
	}
	if serve == nil {
		return nil
	}
	return serve()
}

// dhcpServer answers every DISCOVER and REQUEST with 10.99.0.2/24, router
// 10.99.0.1 and, when dns, name server 10.99.0.53.
func dhcpServer(t *testing.T, dns bool) func() error {
	handle := func(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
		typ := dhcpv4.MessageTypeOffer
		switch m.MessageType() {
		case dhcpv4.MessageTypeDiscover:
		case dhcpv4.MessageTypeRequest:
			typ = dhcpv4.MessageTypeAck
		default:
			return
		}
		server := net.IPv4(10, 99, 0, 1)
		mods := []dhcpv4.Modifier{
			dhcpv4.WithMessageType(typ),
			dhcpv4.WithYourIP(net.IPv4(10, 99, 0, 2)),
			dhcpv4.WithServerIP(server),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(server)),
			dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
			dhcpv4.WithOption(dhcpv4.OptRouter(server)),
			dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(time.Hour)),
		}
		if dns {
			mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(net.IPv4(10, 99, 0, 53))))
		}
		resp, err := dhcpv4.NewReplyFromRequest(m, mods...)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := conn.WriteTo(resp.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}); err != nil {
			t.Error(err)
		}
	}
	return func() error {
		srv, err := server4.NewServer("nu1", &net.UDPAddr{IP: net.IPv4zero, Port: dhcpv4.ServerPort}, handle)
		if err != nil {
			return err
		}
		go srv.Serve()
		t.Cleanup(func() { srv.Close() })
		return nil
	}
}

// dhcp6Server answers every Solicit with Rapid Commit with 2001:db8::5
// and name server 2001:db8::53.
func dhcp6Server(t *testing.T) func() error {
	handle := func(conn net.PacketConn, peer net.Addr, d dhcpv6.DHCPv6) {
		m, ok := d.(*dhcpv6.Message)
		if !ok || m.Type() != dhcpv6.MessageTypeSolicit {
			return
		}
		var iaid [4]byte
		if ia := m.Options.OneIANA(); ia != nil {
			iaid = ia.IaId
		}
		resp, err := dhcpv6.NewReplyFromMessage(m,
			dhcpv6.WithServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}),
			dhcpv6.WithIAID(iaid),
			dhcpv6.WithIANA(dhcpv6.OptIAAddress{IPv6Addr: net.ParseIP("2001:db8::5"), PreferredLifetime: time.Hour, ValidLifetime: time.Hour}),
			dhcpv6.WithDNS(net.ParseIP("2001:db8::53")))
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := conn.WriteTo(resp.ToBytes(), peer); err != nil {
			t.Error(err)
		}
	}
	return func() error {
		srv, err := server6.NewServer("nu1", nil, handle)
		if err != nil {
			return err
		}
		go srv.Serve()
		t.Cleanup(func() { srv.Close() })
		return nil
	}
}

func testSys(t *testing.T) sys {
	// The test's directory is on whatever file system: say it is in RAM.
	ram := func(string) (bool, error) { return true, nil }
	ready := func() {} // the host's random number generator is initialized
	return sys{resolvConf: filepath.Join(t.TempDir(), "resolv.conf"), inRAM: ram, poll: 20 * time.Millisecond, waitRandom: ready}
}

func TestUpNoInterfaceButLoopback(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	start := time.Now()
	err := up(context.Background(), Options{Wait: time.Minute, Logf: t.Logf}, testSys(t))
	if err == nil || !strings.Contains(err.Error(), "no Ethernet interface") {
		t.Fatalf("Up with only lo: %v, want an error saying there is no interface", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Up with only lo took %v, want an error at once", d)
	}
}

func TestUpDHCPv4(t *testing.T) {
	for _, tc := range []struct {
		name string
		dns  bool
		want string // resolv.conf; "" for none
	}{
		{"lease with a name server", true, "nameserver 10.99.0.53\n"},
		{"lease without a name server leaves resolv.conf alone", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !inFreshNetns(t, t.Name()) {
				return
			}
			nu0 := vethToServer(t, dhcpServer(t, tc.dns))
			s := testSys(t)
			if err := up(context.Background(), Options{Wait: 30 * time.Second, Logf: t.Logf}, s); err != nil {
				t.Fatalf("Up: %v", err)
			}
			checkLease(t, nu0)
			rc, err := os.ReadFile(s.resolvConf)
			switch {
			case tc.want == "" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("resolv.conf written (%q, %v) for a lease without name servers", rc, err)
			case tc.want != "" && (err != nil || string(rc) != tc.want):
				t.Errorf("resolv.conf = %q, %v; want %q", rc, err, tc.want)
			}
			// Configured now: a second Up does nothing.
			if err := up(context.Background(), Options{Wait: time.Nanosecond, Logf: t.Logf}, testSys(t)); err != nil {
				t.Errorf("Up when configured: %v", err)
			}
		})
	}
}

// checkLease checks nu0 has the test server's lease: 10.99.0.2/24 and a
// default route through 10.99.0.1.
func checkLease(t *testing.T, nu0 netlink.Link) {
	t.Helper()
	addrs, err := netlink.AddrList(nu0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.99.0.2/24" {
		t.Errorf("nu0 has %v, want 10.99.0.2/24", addrs)
	}
	routes, err := netlink.RouteList(nu0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var gw net.IP
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			gw = r.Gw
		}
	}
	if !gw.Equal(net.IPv4(10, 99, 0, 1)) {
		t.Errorf("nu0's default route is via %v (routes %v), want via 10.99.0.1", gw, routes)
	}
}

func TestUpNoAnswer(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	vethToServer(t, nil)
	s := testSys(t)
	err := up(context.Background(), Options{Wait: 2 * time.Second, Logf: t.Logf}, s)
	if err == nil || !strings.Contains(err.Error(), "within 2s") || !strings.Contains(err.Error(), "nu0 DHCPv4: no answer") {
		t.Fatalf("Up without a DHCP server: %v, want an error saying what was tried", err)
	}
	t.Logf("Up: %v", err)
	if _, err := os.Stat(s.resolvConf); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("resolv.conf written without a lease: %v", err)
	}
}

// TestReadyWhileAddressesChange: looking whether a link is ready while
// addresses come and go (as during a bring-up) is no error. The kernel
// marks such lists interrupted, which netlink returns as EINTR: the ROM
// VM's bring-up failed on "lo: listing addresses: interrupted system
// call".
func TestReadyWhileAddressesChange(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	// Enough addresses that a list takes several messages, between which
	// the kernel notices a change.
	for i := 1; i <= 500; i++ {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(127, 8, byte(i>>8), byte(i)), Mask: net.CIDRMask(32, 32)}}
		if err := netlink.AddrAdd(lo, a); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	churned := make(chan error, 1)
	go func() { churned <- churnAddrs(lo, stop) }()
	b := &bringup{o: Options{Logf: t.Logf}, sys: testSys(t), start: time.Now()}
	for i := 0; i < 300; i++ {
		if _, err := b.ready(); err != nil {
			close(stop)
			t.Fatalf("look %d while addresses change: %v", i, err)
		}
	}
	close(stop)
	if err := <-churned; err != nil {
		t.Fatalf("changing lo's addresses: %v", err)
	}
}

// churnAddrs adds and removes an address on link until stop is closed.
func churnAddrs(link netlink.Link, stop <-chan struct{}) error {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(127, 9, 0, 0), Mask: net.CIDRMask(32, 32)}}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		a.IP[15] = byte(i)
		if err := netlink.AddrAdd(link, a); err != nil {
			return err
		}
		if err := netlink.AddrDel(link, a); err != nil {
			return err
		}
	}
}

// TestUpWaitsForTheRandomGenerator: no DHCP attempt starts before the
// kernel's random number generator is initialized (the DHCP clients' IDs
// would otherwise spin in uio/rand, beyond cancellation: the ROM VM hung
// after SLAAC), and Up's error says that is what it waited for.
func TestUpWaitsForTheRandomGenerator(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	vethToServer(t, dhcpServer(t, false))
	s := testSys(t)
	never := make(chan struct{})
	defer close(never)
	s.waitRandom = func() { <-never }
	err := up(context.Background(), Options{Wait: 2 * time.Second, Logf: t.Logf}, s)
	if err == nil || !strings.Contains(err.Error(), "nu0 DHCPv4: the kernel's random number generator is not initialized yet") {
		t.Fatalf("Up with a DHCP server but no random numbers yet: %v, want an error saying DHCP waited for the random number generator", err)
	}
}

func TestUpAutoconfIPv6(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	nu0 := vethToServer(t, nil)
	// What the kernel's SLAAC does on a router advertisement, done by
	// the test once Up has brought the link up.
	linkUp := make(chan struct{}, 1)
	logf := func(format string, args ...any) {
		t.Logf(format, args...)
		if strings.Contains(format, "link up") {
			linkUp <- struct{}{}
		}
	}
	errc := make(chan error)
	go func() { errc <- up(context.Background(), Options{Wait: 30 * time.Second, Logf: logf}, testSys(t)) }()
	<-linkUp
	slaac := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("2001:db8::2"), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD}
	if err := netlink.AddrAdd(nu0, slaac); err != nil {
		t.Fatal(err)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: nu0.Attrs().Index, Gw: net.ParseIP("fe80::1")}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Up with an autoconfigured IPv6 address and route: %v", err)
	}
}

func TestUpDHCPv6(t *testing.T) {
	if !inFreshNetns(t, t.Name()) {
		return
	}
	nu0 := vethToServer(t, dhcp6Server(t))
	// DHCPv6 gives no route: once the address is there, the test adds
	// the default route a router advertisement would.
	leased := make(chan struct{}, 1)
	logf := func(format string, args ...any) {
		t.Logf(format, args...)
		if strings.Contains(format, "DHCPv6: %v") {
			leased <- struct{}{}
		}
	}
	s := testSys(t)
	errc := make(chan error)
	go func() { errc <- up(context.Background(), Options{Wait: 30 * time.Second, Logf: logf}, s) }()
	select {
	case <-leased:
	case err := <-errc:
		t.Fatalf("Up ended before a DHCPv6 lease: %v", err)
	}
	addrs, err := netlink.AddrList(nu0, netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		got = append(got, a.IPNet.String())
	}
	if !slices.Contains(got, "2001:db8::5/128") {
		t.Errorf("nu0 has %v, want the leased 2001:db8::5/128", got)
	}
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: nu0.Attrs().Index, Gw: net.ParseIP("fe80::1")}); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Up: %v", err)
	}
	rc, err := os.ReadFile(s.resolvConf)
	if err != nil || string(rc) != "nameserver 2001:db8::53\n" {
		t.Errorf("resolv.conf = %q, %v; want the lease's name server", rc, err)
	}
}
