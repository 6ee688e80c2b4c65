package netup

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Up makes sure the network is up: it returns at once when a non-loopback
// interface is up with a usable address (IPv4, or global IPv6 not
// tentative), and with an error at once when there is no Ethernet-like
// interface (only the loopback, or tunnels). Otherwise it brings every
// Ethernet-like link up and runs DHCPv4 and DHCPv6 on each, retrying with
// backoff, while the kernel's SLAAC may configure IPv6, until one link has
// an address and a route (nil), or until o.Wait or ctx ends (an error
// saying what was tried).
func Up(ctx context.Context, o Options) error {
	return up(ctx, o, sys{resolvConf: dhclient.ResolvConfPath, inRAM: inRAM, poll: 250 * time.Millisecond, waitRandom: waitRandom})
}

// sys is where Up writes DNS servers, how it tells that file is in memory,
// how often it looks at the links, and how it waits for the kernel's
// random number generator.
type sys struct {
	resolvConf string
	inRAM      func(path string) (bool, error)
	poll       time.Duration
	waitRandom func()
}

// waitRandom returns when the kernel's random number generator is
// initialized. A blocking getrandom(2) makes Linux (5.4 and later) gather
// jitter entropy when nothing else seeded it (no RDRAND, no hardware RNG:
// qemu's default CPU under TCG), which takes about a second; a poll with
// GRND_NONBLOCK, as the DHCP clients' uio/rand does, waits for interrupts
// to add entropy, minutes on an idle machine. A kernel without getrandom
// (ENOSYS) makes uio/rand read /dev/urandom: nothing to wait for.
func waitRandom() {
	var b [1]byte
	for {
		if _, err := unix.Getrandom(b[:], 0); err != unix.EINTR {
			return
		}
	}
}

// inRAM reports whether path (or, when it does not exist, its directory)
// is on a tmpfs or ramfs, as the ROM's initramfs is: Up writes to no disk.
func inRAM(path string) (bool, error) {
	var st unix.Statfs_t
	err := unix.Statfs(path, &st)
	if errors.Is(err, unix.ENOENT) {
		err = unix.Statfs(filepath.Dir(path), &st)
	}
	if err != nil {
		return false, err
	}
	return ramFS(int64(st.Type)), nil
}

// ramFS reports whether a statfs type is a file system in memory.
func ramFS(magic int64) bool {
	return magic == unix.TMPFS_MAGIC || magic == unix.RAMFS_MAGIC
}

func up(ctx context.Context, o Options, s sys) error {
	links, err := snapshot()
	if err != nil {
		return err
	}
	if _, _, ok := configured(links); ok {
		return nil
	}
	cands := candidates(links)
	if len(cands) == 0 {
		return errors.New("network: no Ethernet interface, only the loopback or tunnels; build the network card's driver into the ROM kernel, or boot from a disk")
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	b := &bringup{o: o, sys: s, start: time.Now(), results: make(chan result), seeded: make(chan struct{}), lastErr: map[string]error{}}
	return b.run(ctx, cands)
}

// dumpTries is how often snapshot lists the links when the kernel says
// each list was interrupted.
const dumpTries = 10

// snapshot lists the links with their addresses and main-table routes.
// A list the kernel marks interrupted (NLM_F_DUMP_INTR: addresses or
// routes changed while they were listed, as they do during bring-up),
// which netlink returns as EINTR, is taken again.
func snapshot() ([]Link, error) {
	for try := 1; ; try++ {
		links, err := snapshotOnce()
		if err == nil || !errors.Is(err, unix.EINTR) || try == dumpTries {
			return links, err
		}
	}
}

func snapshotOnce() ([]Link, error) {
	nls, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("network: listing the interfaces: %w", err)
	}
	links := make([]Link, 0, len(nls))
	for _, nl := range nls {
		l, err := linkOf(nl)
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	return links, nil
}

// linkOf describes one netlink link.
func linkOf(nl netlink.Link) (Link, error) {
	at := nl.Attrs()
	l := Link{
		Name:     at.Name,
		Loopback: at.RawFlags&unix.IFF_LOOPBACK != 0,
		Up:       at.RawFlags&unix.IFF_UP != 0,
		Ether:    len(at.HardwareAddr) == 6,
	}
	l.Carrier = l.Up && (at.OperState == netlink.OperUp || at.OperState == netlink.OperUnknown)
	addrs, err := netlink.AddrList(nl, netlink.FAMILY_ALL)
	if err != nil {
		return Link{}, fmt.Errorf("network: %s: listing addresses: %w", at.Name, err)
	}
	for _, a := range addrs {
		p, ok := prefixOf(a)
		if !ok {
			continue
		}
		l.Addrs = append(l.Addrs, Addr{Prefix: p, Tentative: a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0})
	}
	routes, err := netlink.RouteList(nl, netlink.FAMILY_ALL)
	if err != nil {
		return Link{}, fmt.Errorf("network: %s: listing routes: %w", at.Name, err)
	}
	for _, r := range routes {
		l.Routes = append(l.Routes, routeDst(r))
	}
	return l, nil
}

// prefixOf is a's address and prefix length.
func prefixOf(a netlink.Addr) (netip.Prefix, bool) {
	if a.IPNet == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(a.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	ones, _ := a.Mask.Size()
	return netip.PrefixFrom(ip, ones), true
}

// routeDst is r's destination; a default route is 0.0.0.0/0 or ::/0.
func routeDst(r netlink.Route) netip.Prefix {
	if r.Dst != nil {
		if ip, ok := netip.AddrFromSlice(r.Dst.IP); ok {
			ones, _ := r.Dst.Mask.Size()
			return netip.PrefixFrom(ip.Unmap(), ones)
		}
	}
	if r.Family == unix.AF_INET6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}
