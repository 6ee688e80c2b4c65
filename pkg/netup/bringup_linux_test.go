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
	"github.com/insomniacslk/dhcp/dhcpv6"
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
		b := &bringup{sys: sys{resolvConf: file, inRAM: testSys(t).inRAM}}
		err := b.addDNS([]net.IP{ip("10.0.2.3")}, nil, "")
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), file) {
			t.Fatalf("addDNS into a missing directory: %v", err)
		}
	})
}

func TestAddDNSNotOnDisk(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inRAM func(string) (bool, error)
	}{
		{"resolv.conf on a disk", func(string) (bool, error) { return false, nil }},
		{"cannot tell", func(string) (bool, error) { return false, os.ErrPermission }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSys(t)
			s.inRAM = tc.inRAM
			var logged []string
			b := &bringup{sys: s, o: Options{Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}}
			for range 2 {
				if err := b.addDNS([]net.IP{net.ParseIP("10.0.2.3")}, nil, ""); err != nil {
					t.Fatal(err)
				}
				b.dns = nil // a new server each time
			}
			if _, err := os.Stat(s.resolvConf); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("resolv.conf written to a disk: %v", err)
			}
			if len(logged) != 1 || !strings.Contains(logged[0], "writes to no disk") {
				t.Errorf("logged %q, want one line saying why", logged)
			}
		})
	}
}

func TestRAMFS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		magic int64
		want  bool
	}{
		{"tmpfs", 0x01021994, true},
		{"ramfs", 0x858458f6, true},
		{"ext4", 0xef53, false},
		{"vfat", 0x4d44, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ramFS(tc.magic); got != tc.want {
				t.Errorf("ramFS(%#x) = %v, want %v", tc.magic, got, tc.want)
			}
		})
	}
}

func TestInRAMOfAMissingFile(t *testing.T) {
	// A resolv.conf that does not exist yet is judged by its directory.
	if _, err := inRAM(filepath.Join(t.TempDir(), "resolv.conf")); err != nil {
		t.Fatalf("inRAM of a missing file in an existing directory: %v", err)
	}
	if _, err := inRAM(filepath.Join(t.TempDir(), "no", "resolv.conf")); err == nil {
		t.Fatal("inRAM of a file in a missing directory: no error")
	}
}

// TestRecordSaysWhatIsRetried: a failed DHCP exchange is retried and
// the log says so; a lease that came but could not be applied is not
// retried (retry stops at the first lease), and the log must not promise
// it.
func TestRecordSaysWhatIsRetried(t *testing.T) {
	link := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "eth9"}}
	noAddress, err := dhcpv6.NewMessage() // a lease without an address: configure6 refuses it
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		r    result
		want string
	}{
		{"no answer", result{link: link, proto: "DHCPv4", err: errors.New("no answer within 1s")}, "(retrying)"},
		{"lease not applied", result{link: link, proto: "DHCPv6", v6: noAddress}, "not retried"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			b := &bringup{lastErr: map[string]error{}, o: Options{Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}}
			b.record(tc.r)
			if len(logged) != 1 || !strings.Contains(logged[0], tc.want) {
				t.Errorf("logged %q, want one line with %q", logged, tc.want)
			}
		})
	}
}
