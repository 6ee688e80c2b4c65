package netup

import (
	"net/netip"
	"slices"
	"testing"
)

func addr(s string) Addr { return Addr{Prefix: netip.MustParsePrefix(s)} }

func routes(ss ...string) []netip.Prefix {
	var r []netip.Prefix
	for _, s := range ss {
		r = append(r, netip.MustParsePrefix(s))
	}
	return r
}

var lo = Link{Name: "lo", Loopback: true, Up: true, Carrier: true,
	Addrs: []Addr{addr("127.0.0.1/8"), addr("::1/128")}, Routes: routes("127.0.0.0/8")}

func TestAddrUsable(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Addr
		want bool
	}{
		{"IPv4 private", addr("10.0.2.15/24"), true},
		{"IPv4 public", addr("192.0.2.7/24"), true},
		{"IPv4 loopback", addr("127.0.0.1/8"), false},
		{"IPv4 link-local", addr("169.254.3.4/16"), false},
		{"IPv4 unspecified", addr("0.0.0.0/0"), false},
		{"IPv6 global", addr("2001:db8::5/64"), true},
		{"IPv6 unique local", addr("fd00::5/64"), true},
		{"IPv6 global tentative", Addr{Prefix: netip.MustParsePrefix("2001:db8::5/64"), Tentative: true}, false},
		{"IPv6 link-local", addr("fe80::1/64"), false},
		{"IPv6 loopback", addr("::1/128"), false},
		{"invalid", Addr{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Usable(); got != tc.want {
				t.Errorf("Usable(%v) = %v, want %v", tc.a.Prefix, got, tc.want)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links []Link
		want  []string
	}{
		{"only loopback", []Link{lo}, nil},
		{"Ethernet links, up or down", []Link{lo, {Name: "eth0", Ether: true}, {Name: "eth1", Ether: true, Up: true}}, []string{"eth0", "eth1"}},
		{"a tunnel is left alone", []Link{lo, {Name: "sit0"}, {Name: "eth0", Ether: true}}, []string{"eth0"}},
		{"a loopback with a hardware address is still a loopback", []Link{{Name: "lo", Loopback: true, Ether: true}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range candidates(tc.links) {
				got = append(got, l.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("candidates = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestConfigured(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links []Link
		want  string // name of the configured link; "" for none
	}{
		{"only loopback", []Link{lo}, ""},
		{"down link with no address", []Link{lo, {Name: "eth0"}}, ""},
		{"up link with only link-local IPv6", []Link{lo, {Name: "eth0", Up: true, Carrier: true, Addrs: []Addr{addr("fe80::1/64")}}}, ""},
		{"up link with IPv4", []Link{lo, {Name: "eth0", Up: true, Addrs: []Addr{addr("10.0.2.15/24")}}}, "eth0"},
		{"down link with IPv4", []Link{lo, {Name: "eth0", Addrs: []Addr{addr("10.0.2.15/24")}}}, ""},
		{"up link with global IPv6", []Link{lo, {Name: "eth0", Up: true, Addrs: []Addr{addr("fe80::1/64"), addr("2001:db8::5/64")}}}, "eth0"},
		{"up link with tentative IPv6 only", []Link{lo, {Name: "eth0", Up: true, Addrs: []Addr{{Prefix: netip.MustParsePrefix("2001:db8::5/64"), Tentative: true}}}}, ""},
		{"second link configured", []Link{lo, {Name: "eth0", Up: true}, {Name: "eth1", Up: true, Addrs: []Addr{addr("192.0.2.9/24")}}}, "eth1"},
		{"loopback with a global address does not count", []Link{{Name: "lo", Loopback: true, Up: true, Addrs: []Addr{addr("192.0.2.1/32")}}, {Name: "eth0"}}, ""},
		{"a configured tunnel counts", []Link{lo, {Name: "eth0", Ether: true}, {Name: "wg0", Up: true, Addrs: []Addr{addr("10.8.0.2/24")}}}, "wg0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, ok := configured(tc.links)
			if got := map[bool]string{true: l.Name}[ok]; got != tc.want {
				t.Errorf("configured = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReady(t *testing.T) {
	up := func(addrs []Addr, r []netip.Prefix) []Link {
		return []Link{lo, {Name: "eth0", Up: true, Carrier: true, Addrs: addrs, Routes: r}}
	}
	for _, tc := range []struct {
		name  string
		links []Link
		want  bool
	}{
		{"nothing", []Link{lo, {Name: "eth0"}}, false},
		{"IPv4 lease with a default route", up([]Addr{addr("10.0.2.15/24")}, routes("0.0.0.0/0", "10.0.2.0/24")), true},
		{"IPv4 lease without a router reaches its subnet", up([]Addr{addr("10.0.2.15/24")}, routes("10.0.2.0/24")), true},
		{"IPv4 address and only an IPv6 default route", up([]Addr{addr("10.0.2.15/32")}, routes("::/0")), false},
		{"IPv4 address and only a host route", up([]Addr{addr("10.0.2.15/32")}, routes("10.0.2.15/32")), false},
		{"SLAAC address and default route", up([]Addr{addr("fe80::1/64"), addr("2001:db8::5/64")}, routes("fe80::/64", "2001:db8::/64", "::/0")), true},
		{"SLAAC address still tentative", up([]Addr{{Prefix: netip.MustParsePrefix("2001:db8::5/64"), Tentative: true}}, routes("2001:db8::/64", "::/0")), false},
		{"DHCPv6 /128 before the router advertisement", up([]Addr{addr("2001:db8::5/128")}, routes("2001:db8::5/128", "fe80::/64", "ff00::/8")), false},
		{"link-local IPv6 and its route only", up([]Addr{addr("fe80::1/64")}, routes("fe80::/64", "::/0")), false},
		{"address but no carrier", []Link{lo, {Name: "eth0", Up: true, Addrs: []Addr{addr("10.0.2.15/24")}, Routes: routes("0.0.0.0/0")}}, false},
		{"loopback only", []Link{lo}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, got := ready(tc.links); got != tc.want {
				t.Errorf("ready = %v, want %v", got, tc.want)
			}
		})
	}
}
