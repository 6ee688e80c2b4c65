package netup

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/vishvananda/netlink"
)

func TestRoutes4(t *testing.T) {
	link := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "eth0", Index: 7}}
	_, net10, _ := net.ParseCIDR("10.1.0.0/16")
	_, any4, _ := net.ParseCIDR("0.0.0.0/0")
	_, onlink, _ := net.ParseCIDR("192.0.2.0/24")
	gw := net.IPv4(10, 0, 2, 2)
	for _, tc := range []struct {
		name string
		opts []dhcpv4.Option
		want string
	}{
		{"no router", nil, "[]"},
		{"router: a default route through the first", []dhcpv4.Option{dhcpv4.OptRouter(gw, net.IPv4(10, 0, 2, 3))},
			"[{Ifindex: 7 Dst: <nil> Src: <nil> Gw: 10.0.2.2 Flags: [] Table: 0 Realm: 0}]"},
		{"classless static routes replace the router", []dhcpv4.Option{
			dhcpv4.OptRouter(net.IPv4(10, 0, 2, 9)),
			dhcpv4.OptClasslessStaticRoute(
				&dhcpv4.Route{Dest: net10, Router: gw},
				&dhcpv4.Route{Dest: onlink, Router: net.IPv4zero},
				&dhcpv4.Route{Dest: any4, Router: gw})},
			"[{Ifindex: 7 Dst: 10.1.0.0/16 Src: <nil> Gw: 10.0.2.2 Flags: [] Table: 0 Realm: 0} " +
				"{Ifindex: 7 Dst: 192.0.2.0/24 Src: <nil> Gw: <nil> Flags: [] Table: 0 Realm: 0} " +
				"{Ifindex: 7 Dst: 0.0.0.0/0 Src: <nil> Gw: 10.0.2.2 Flags: [] Table: 0 Realm: 0}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := dhcpv4.New()
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tc.opts {
				p.UpdateOption(o)
			}
			rs := routes4(link, p)
			var got []netlink.Route
			for _, r := range rs {
				got = append(got, *r)
			}
			if s := fmt.Sprint(got); s != tc.want && !(tc.want == "[]" && got == nil) {
				t.Errorf("routes4 = %s, want %s", s, tc.want)
			}
			for _, r := range rs {
				if r.Gw == nil && r.Scope != netlink.SCOPE_LINK {
					t.Errorf("route %v without a gateway is not link-scoped", r)
				}
			}
		})
	}
}

func TestAddDNS(t *testing.T) {
	ip := net.ParseIP
	type lease struct {
		ns     []net.IP
		search []string
		domain string
	}
	for _, tc := range []struct {
		name   string
		leases []lease
		want   string // "" for no file
	}{
		{"no lease names a server", []lease{{}, {domain: "example.com"}}, ""},
		{"one DHCPv4 lease", []lease{{ns: []net.IP{ip("10.0.2.3")}, search: []string{"a.example"}, domain: "example.com"}},
			"domain example.com\nnameserver 10.0.2.3\nsearch a.example\n"},
		{"DHCPv4 then DHCPv6: both kept", []lease{{ns: []net.IP{ip("10.0.2.3")}}, {ns: []net.IP{ip("2001:db8::53"), ip("10.0.2.3")}}},
			"nameserver 10.0.2.3\nnameserver 2001:db8::53\n"},
		{"a lease without servers after one with keeps them", []lease{{ns: []net.IP{ip("10.0.2.3")}}, {}},
			"nameserver 10.0.2.3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSys(t)
			b := &bringup{sys: s}
			for _, l := range tc.leases {
				if err := b.addDNS(l.ns, l.search, l.domain); err != nil {
					t.Fatal(err)
				}
			}
			rc, err := os.ReadFile(s.resolvConf)
			switch {
			case tc.want == "" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("resolv.conf written: %q, %v", rc, err)
			case tc.want != "" && string(rc) != tc.want:
				t.Errorf("resolv.conf = %q, %v; want %q", rc, err, tc.want)
			}
		})
	}
	t.Run("an unwritable resolv.conf names the file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "no", "resolv.conf")
		b := &bringup{sys: sys{resolvConf: file}}
		err := b.addDNS([]net.IP{ip("10.0.2.3")}, nil, "")
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), file) {
			t.Fatalf("addDNS into a missing directory: %v", err)
		}
	})
}
