// Package netup brings the network up for network boot: when no interface
// but the loopback has a usable address, it brings every other link up and
// runs DHCPv4 and DHCPv6 on each (u-root's pkg/dhclient and the DHCP
// clients it uses) while the kernel's SLAAC may configure IPv6 from router
// advertisements, until one interface has an address and a route.
//
// It changes the kernel's network configuration (links, addresses, routes),
// which lives in memory, and, when a lease names DNS servers, writes
// /etc/resolv.conf, which in a LinuxBoot ROM is in the initramfs (a tmpfs
// or ramfs). Nothing is written to disks: on a machine whose /etc is on a
// disk, the name servers are logged and not written.
//
// u-root's pkg/dhclient is used only in part: for its lease types
// (NewPacket4, NewPacket6: the leased address, the DNS settings) and
// WriteDNSSettings, with insomniacslk/dhcp's clients and netlink directly
// for the rest. Its SendRequests makes one attempt per interface with
// fixed timeouts and logs through the log package, where Up retries each
// link with backoff (1 s doubling to 16 s) within one overall wait, stops
// at the first link that is ready and reports through Options.Logf; and
// its Packet4.Configure and Packet6.Configure write
// dhclient.ResolvConfPath whatever file system it is on, where Up writes
// it only when it is in memory.
package netup

import (
	"net/netip"
	"time"
)

// DefaultWait is how long Up waits for a usable address by default.
const DefaultWait = 90 * time.Second

// Options configure Up.
type Options struct {
	// Wait bounds the whole bring-up; zero is DefaultWait.
	Wait time.Duration
	// Logf prints progress lines, each starting "network: " (the caller
	// adds its own prefix, "ukiboot: "); nil prints nothing.
	Logf func(format string, args ...any)
}

// Link is what the decisions of Up need to know of a network interface.
type Link struct {
	Name     string
	Loopback bool
	Ether    bool // a 6-byte hardware address (Ethernet, Wi-Fi): DHCP can run on it
	Up       bool // administratively up (IFF_UP)
	Carrier  bool // operationally up or unknown: packets can flow
	Addrs    []Addr
	Routes   []netip.Prefix // destinations of the main table's routes through the link; 0.0.0.0/0 or ::/0 for a default route
}

// Addr is an address of a Link.
type Addr struct {
	Prefix    netip.Prefix
	Tentative bool // IPv6 duplicate address detection not finished, or failed
}

// Usable reports whether a can reach servers: IPv4 other than loopback,
// link-local (169.254/16) or unspecified, or IPv6 global unicast (ULAs
// included) whose duplicate address detection is done.
func (a Addr) Usable() bool {
	ip := a.Prefix.Addr()
	switch {
	case !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast():
		return false
	case ip.Is4() || ip.Is4In6():
		return true
	default:
		return ip.IsGlobalUnicast() && !a.Tentative
	}
}

// usableAddr is the first usable address of l, if any.
func (l Link) usableAddr() (Addr, bool) {
	for _, a := range l.Addrs {
		if a.Usable() {
			return a, true
		}
	}
	return Addr{}, false
}

// candidates are the links Up brings up and runs DHCP on: the
// Ethernet-like ones (not loopbacks, tunnels such as sit0, or
// InfiniBand).
func candidates(links []Link) []Link {
	var c []Link
	for _, l := range links {
		if l.Ether && !l.Loopback {
			c = append(c, l)
		}
	}
	return c
}

// others are the links but loopbacks.
func others(links []Link) []Link {
	var c []Link
	for _, l := range links {
		if !l.Loopback {
			c = append(c, l)
		}
	}
	return c
}

// configured is the first non-loopback link that is up with a usable
// address (a tunnel or bridge counts: someone configured the network):
// when there is one, the network is already up and Up does nothing.
func configured(links []Link) (Link, Addr, bool) {
	for _, l := range others(links) {
		if !l.Up {
			continue
		}
		if a, ok := l.usableAddr(); ok {
			return l, a, true
		}
	}
	return Link{}, Addr{}, false
}

// ready is the first non-loopback link with carrier, a usable address and
// a route of that address's family that leads somewhere: a default route,
// or a network route (an IPv4 lease without a router reaches its subnet),
// not a host route nor IPv6 link-local or multicast. It ends Up's wait.
func ready(links []Link) (Link, Addr, bool) {
	for _, l := range others(links) {
		if !l.Up || !l.Carrier {
			continue
		}
		for _, a := range l.Addrs {
			if a.Usable() && hasRoute(l.Routes, a.Prefix.Addr().Is4()) {
				return l, a, true
			}
		}
	}
	return Link{}, Addr{}, false
}

// hasRoute reports whether routes hold a route of the family (IPv4 when v4)
// that leads somewhere.
func hasRoute(routes []netip.Prefix, v4 bool) bool {
	for _, r := range routes {
		ip := r.Addr()
		if ip.Is4() != v4 || r.Bits() == ip.BitLen() {
			continue
		}
		if ip.IsLinkLocalUnicast() || ip.IsMulticast() {
			continue
		}
		return true
	}
	return false
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}
