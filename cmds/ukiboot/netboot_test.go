//go:build !nonetboot

package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/nettest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/netboot"
)

// The network tests serve UKIs from httptest servers on 127.0.0.1: a
// loopback server never brings the network up (and the fake system has
// no netUp), and nothing leaves this machine.

// netFleet is a trust store, an ESP with a signed disk UKI (kernel
// K-DISK) and a signed UKI to serve (kernel K-NET, .uname 6.12.1).
type netFleet struct {
	esp, db string
	served  []byte
	disk    []byte
	key     *ukitest.Key
}

func newNetFleet(t *testing.T) *netFleet {
	ca := ukitest.NewCA(t, "Fleet db CA", false)
	f := &netFleet{esp: t.TempDir(), db: t.TempDir(), key: ukitest.NewLeaf(t, "Fleet Signer", false, ca)}
	os.WriteFile(filepath.Join(f.db, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	f.served = signedUKI(t, f.key, ukitest.S(".osrel", "ID=fleet\nPRETTY_NAME=\"Fleet OS\"\nVERSION_ID=7\n"),
		ukitest.S(".uname", "6.12.1"), ukitest.S(".cmdline", "root=net"), ukitest.S(".linux", "K-NET"), ukitest.S(".initrd", "I-NET"))
	f.disk = signedUKI(t, f.key, ukitest.S(".osrel", "ID=fleet\nPRETTY_NAME=\"Disk OS\"\nVERSION_ID=7\n"),
		ukitest.S(".uname", "6.12.1"), ukitest.S(".cmdline", "root=disk"), ukitest.S(".linux", "K-DISK"), ukitest.S(".initrd", "I-DISK"))
	ukitest.WriteTree(t, f.esp, "EFI/Linux/disk.efi", f.disk)
	return f
}

// serve serves data as path with Range support (http.ServeContent).
func serve(mux *http.ServeMux, path string, data []byte) {
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}

// TestListURLEntries: -list shows a -url entry first, titled from its
// .osrel, as the default chosen by -url, named by its URL; and a type #1
// uki-url entry, listed without reading the network.
func TestListURLEntries(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	var requests atomic.Int64
	serve(mux, "/boot/Fleet.efi", f.served)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ukitest.WriteTree(t, f.esp, "loader/entries/net.conf", []byte("title Net Conf\nuki-url "+srv.URL+"/boot/other.efi\n"))
	cases := []struct {
		name     string
		args     []string
		want     []string
		requests int64 // at most
	}{
		{"a -url entry", []string{"-url", "http://user:secret@" + strings.TrimPrefix(srv.URL, "http://") + "/boot/Fleet.efi#min-version=6"},
			[]string{"* 1  fleet.efi  Fleet OS  7", "default: fleet.efi (chosen by -url)", "fleet.efi: from " + srv.URL + "/boot/Fleet.efi\n", "-auto tries: fleet.efi, disk.efi, net.conf"}, 4},
		{"a uki-url entry, not read", nil,
			[]string{"net.conf  Net Conf", "net.conf: uki-url " + srv.URL + "/boot/other.efi\n", "default: disk.efi (chosen by first entry)"}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			var stdout, stderr bytes.Buffer
			sys := (&fakeSystem{platform: noPlatform(t)}).sys()
			if rc := runWith(append([]string{"-list", "-db", f.db, "-root", f.esp}, tc.args...), &stdout, &stderr, sys); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("-list lacks %q:\n%s", want, stdout.String())
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "secret") || strings.Contains(stdout.String(), "min-version") {
				t.Errorf("-list shows the password or the fragment:\n%s%s", stdout.String(), stderr.String())
			}
			if n := requests.Load(); n > tc.requests {
				t.Errorf("%d requests, want at most %d", n, tc.requests)
			}
		})
	}
}

// newSparseUKI is a signed-looking UKI of size bytes, generated as it is
// read: headers and small sections, then a .linux of zeros, then a
// certificate table.
func newSparseUKI(size int64) *ukitest.Sparse {
	return ukitest.BigUKI(size,
		ukitest.B(".text", bytes.Repeat([]byte{0xcc}, 120<<10)), // a stub's code first, as ukify lays it out
		ukitest.S(".osrel", "ID=big\nPRETTY_NAME=\"Big OS\"\nVERSION_ID=3\n"),
		ukitest.S(".cmdline", "quiet"),
		ukitest.S(".uname", "6.12.0"),
		ukitest.S(".linux", "K"),
	)
}

// TestListLargeURLReadsLittle: listing a 200 MiB UKI over HTTP reads its
// headers and small sections, not its kernel: under 1 MiB and at most 4
// requests.
func TestListLargeURLReadsLittle(t *testing.T) {
	big := newSparseUKI(200 << 20)
	srv := nettest.Serve(t, big, big.Size)
	sent, requests := &srv.Sent, &srv.Requests
	var stdout, stderr bytes.Buffer
	sys := (&fakeSystem{platform: noPlatform(t)}).sys()
	if rc := runWith([]string{"-list", "-verify", "off", "-root", t.TempDir(), "-url", srv.URL + "/big.efi"}, &stdout, &stderr, sys); rc != 0 {
		t.Fatalf("rc %d\n%s%s", rc, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "* 1  big.efi  Big OS  3") {
		t.Errorf("-list:\n%s", stdout.String())
	}
	if n := sent.Load(); n >= 1<<20 || requests.Load() > 4 {
		t.Errorf("listing sent %d bytes in %d requests, want under 1 MiB in at most 4", n, requests.Load())
	}
	t.Logf("listing a %d-byte UKI: %d bytes in %d requests", big.Size, sent.Load(), requests.Load())
}

// TestAutoFallsBackFromURL: with -auto, a -url that fails for any reason
// is logged, with its URL and why, and the disk entry boots; nothing is
// booted from a UKI that failed.
func TestAutoFallsBackFromURL(t *testing.T) {
	f := newNetFleet(t)
	tampered := bytes.Clone(f.served)
	i := bytes.Index(tampered, []byte("K-NET"))
	tampered[i] = 'X'
	mux := http.NewServeMux()
	serve(mux, "/fleet.efi", f.served)
	serve(mux, "/tampered.efi", tampered)
	serve(mux, "/notuki.efi", []byte("<html>this is not a UKI</html>"))
	mux.Handle("/missing.efi", http.NotFoundHandler())
	mux.HandleFunc("/loop.efi", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop.efi", http.StatusFound) })
	big := newSparseUKI(2 << 30)
	mux.HandleFunc("/huge.efi", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(big, 0, big.Size))
	})
	// Range requests are answered; the whole file is announced and cut
	// short, or stalls half-way.
	whole := func(path string, cut func(r *http.Request)) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") != "" {
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.served))
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(f.served)))
			w.WriteHeader(http.StatusOK)
			w.Write(f.served[:len(f.served)/2])
			w.(http.Flusher).Flush()
			cut(r)
		})
	}
	stop := make(chan struct{})
	whole("/short.efi", func(*http.Request) {})
	whole("/stall.efi", func(r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(stop) // before srv.Close, which waits for the handlers
	down := httptest.NewServer(mux)
	downURL := down.URL
	down.Close()

	cases := []struct {
		name, url string
		why       string // in the log, after the URL
	}{
		{"server down", downURL + "/fleet.efi", "refused"},
		{"404", srv.URL + "/missing.efi", "404"},
		{"redirect loop", srv.URL + "/loop.efi", "redirect"},
		{"too large", srv.URL + "/huge.efi", "more than the limit"},
		{"not a UKI", srv.URL + "/notuki.efi", "not a PE image"},
		{"tampered: not trusted", srv.URL + "/tampered.efi", "not trusted"},
		{"fewer bytes than announced", srv.URL + "/short.efi", "EOF"},
		{"stalled", srv.URL + "/stall.efi", "stalled"},
		{"rollback", srv.URL + "/fleet.efi#min-version=6.13", "rollback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeSystem{platform: noPlatform(t)}
			var stdout, stderr bytes.Buffer
			args := []string{"-auto", "-db", f.db, "-root", f.esp, "-net-read-timeout", "300ms", "-url", tc.url}
			if rc := runWith(args, &stdout, &stderr, fs.sys()); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			if len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-DISK" {
				t.Fatalf("loaded %d kernels, want K-DISK alone:\n%s", len(fs.loads), stderr.String())
			}
			log := stderr.String()
			shown, _, _ := strings.Cut(tc.url, "#")
			line := ""
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "cannot boot") && strings.Contains(l, shown) {
					line = l
				}
			}
			if line == "" || !strings.Contains(line, tc.why) {
				t.Errorf("no line naming %s and %q:\n%s", shown, tc.why, log)
			}
		})
	}
	// The UKI itself boots, from the network.
	fs := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-url", srv.URL + "/fleet.efi#min-version=6.12"}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-NET" || fs.loads[0].cmdline != "root=net" {
		t.Errorf("rc %d, loads %+v:\n%s", rc, fs.loads, stderr.String())
	}
}

// TestDryRunURLIsTheDiskPlan: -dry-run of a served UKI under enforcement
// prints the plan of the same UKI on a disk, but for where it is read
// from.
func TestDryRunURLIsTheDiskPlan(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/os/fleet.efi", f.served)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	same := t.TempDir()
	ukitest.WriteTree(t, same, "EFI/Linux/fleet.efi", f.served)
	plan := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		fs := &fakeSystem{platform: noPlatform(t)}
		if rc := runWith(append([]string{"-auto", "-dry-run", "-verify", "enforce", "-db", f.db}, args...), &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 0 {
			t.Fatalf("%v: rc %d, %d loads\n%s", args, rc, len(fs.loads), stderr.String())
		}
		return stdout.String()
	}
	net := plan("-root", t.TempDir(), "-url", srv.URL+"/os/fleet.efi")
	disk := plan("-root", same)
	if !strings.Contains(net, "verified: trusted") || !strings.Contains(net, srv.URL+"/os/fleet.efi") {
		t.Errorf("plan of the served UKI:\n%s", net)
	}
	if got := strings.ReplaceAll(net, srv.URL+"/os/fleet.efi", filepath.Join(same, "EFI/Linux/fleet.efi")); got != disk {
		t.Errorf("plans differ but for the path:\n--- served\n%s--- disk\n%s", net, disk)
	}
}

// TestURLFlagUsage: a -url that is not an absolute http:// or https://
// URL, or whose fragment is not #min-version=V, is a usage error, and so
// is a bad -net.
func TestURLFlagUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"relative", []string{"-url", "boot/x.efi"}, "not an absolute http:// or https:// URL"},
		{"ftp", []string{"-url", "ftp://h/x.efi"}, "not an absolute http:// or https:// URL"},
		{"unknown fragment key", []string{"-url", "http://h/x.efi#max-version=1"}, "the only fragment allowed is #min-version"},
		{"-net", []string{"-net", "on"}, `-net "on": use auto or off`},
		{"-net-wait 0", []string{"-net-wait", "0"}, "-net-wait must be more than 0"},
		{"-net-read-timeout 0", []string{"-net-read-timeout", "0s"}, "-net-read-timeout must be more than 0"},
		{"-url with -inspect", []string{"-inspect", "x.efi", "-url", "http://h/x.efi"}, "-url goes with"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if rc := runWith(append([]string{"-list", "-root", t.TempDir()}[:0:0], tc.args...), &stdout, &stderr, system{}); rc != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("rc %d, stderr %q; want 2 and %q", rc, stderr.String(), tc.want)
			}
		})
	}
}

// TestNoNetBootLinksNoNetwork: built with -tags nonetboot, ukiboot links
// neither net/http, crypto/tls nor u-root's dhclient (the ROM size
// without network boot).
func TestNoNetBootLinksNoNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	out, err := exec.Command(goTool, "list", "-deps", "-tags", "nonetboot", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "net/http" || pkg == "crypto/tls" || strings.HasSuffix(pkg, "/dhclient") {
			t.Errorf("-tags nonetboot links %s", pkg)
		}
	}
}

// TestURLOverHTTPS: an https:// -url is checked against the -ca file:
// the server's CA boots the served UKI; another CA, or a -ca file that
// cannot be read, fails the network entry (and names why), and the disk
// entry boots.
func TestURLOverHTTPS(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/fleet.efi", f.served)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	good, wrong := filepath.Join(dir, "good.pem"), filepath.Join(dir, "wrong.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	other := ukitest.NewCA(t, "Another CA", false)
	os.WriteFile(wrong, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Cert.Raw}), 0o644)
	cases := []struct {
		name, ca, kernel, why string
		rom                   string // the ROM's /etc/ukiboot/ca.pem, "" for none
	}{
		{"the server's CA", good, "K-NET", "", ""},
		{"another CA", wrong, "K-DISK", "certificate", ""},
		{"no -ca file", filepath.Join(dir, "missing.pem"), "K-DISK", "-ca " + filepath.Join(dir, "missing.pem"), ""},
		{"the ROM's ca.pem", "", "K-NET", "", good},
		{"-ca before the ROM's ca.pem", wrong, "K-DISK", "certificate", good},
		{"the ROM's ca.pem of another CA", "", "K-DISK", "certificate", wrong},
		{"neither: the system's roots", "", "K-DISK", "certificate", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeSystem{platform: noPlatform(t)}
			if tc.rom != "" {
				b, _ := os.ReadFile(tc.rom)
				os.MkdirAll(fs.platform.trustDir, 0o755)
				os.WriteFile(filepath.Join(fs.platform.trustDir, "ca.pem"), b, 0o644)
			}
			args := []string{"-auto", "-db", f.db, "-root", f.esp, "-url", srv.URL + "/fleet.efi"}
			if tc.ca != "" {
				args = append(args, "-ca", tc.ca)
			}
			var stdout, stderr bytes.Buffer
			rc := runWith(args, &stdout, &stderr, fs.sys())
			if rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != tc.kernel {
				t.Fatalf("rc %d, %d loads, want %s:\n%s", rc, len(fs.loads), tc.kernel, stderr.String())
			}
			if tc.why != "" && (!strings.Contains(stderr.String(), "cannot boot fleet.efi: ") || !strings.Contains(stderr.String(), tc.why)) {
				t.Errorf("log lacks why fleet.efi did not boot (%q):\n%s", tc.why, stderr.String())
			}
		})
	}
}

// TestNetworkBroughtUpOnce: the network is brought up before the first
// request to a server that is not on a loopback address, once per run
// (a second pipeline does not wait again), not with -net off, nor by -dry-run and -list (which change
// nothing); its failure is logged and returned (the request adds it to
// its own error), not fatal.
func TestNetworkBroughtUpOnce(t *testing.T) {
	failed := errors.New("no DHCP answer")
	cases := []struct {
		name  string
		url   string
		net   string // -net, and the mode
		upErr error
		calls int
		log   string
	}{
		{"a remote server", "http://boot.example/x.efi", "auto", nil, 1, ""},
		{"a remote server, bring-up fails", "https://[2001:db8::1]/x.efi", "auto", failed, 1, "network: no DHCP answer"},
		{"-net off", "http://boot.example/x.efi", "off", nil, 0, ""},
		{"-dry-run changes nothing", "http://boot.example/x.efi", "auto -dry-run", nil, 0, "network: not brought up: -dry-run and -list change nothing (bring it up first, or give -net off to hide this)"},
		{"-list changes nothing", "http://boot.example/x.efi", "auto -list", nil, 0, "network: not brought up: -dry-run and -list change nothing (bring it up first, or give -net off to hide this)"},
		{"loopback", "http://127.0.0.1:8080/x.efi", "auto", nil, 0, ""},
		{"localhost", "http://localhost/x.efi", "auto", nil, 0, ""},
		{"IPv6 loopback", "http://[::1]/x.efi", "auto", nil, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			var waited time.Duration
			var log []string
			mode, flag, _ := strings.Cut(tc.net, " ")
			o := &options{net: mode, netWait: 42 * time.Second, dryRun: flag == "-dry-run", list: flag == "-list"}
			sys := system{netUp: func(_ context.Context, wait time.Duration, _ func(string, ...any)) error {
				calls++
				waited = wait
				return tc.upErr
			}}
			u, err := netboot.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			// Two pipelines of one run (-auto, then -on-failure menu).
			for range 2 {
				n := newNetBoot(o, sys, func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) })
				if ready := n.readyFor(u); ready != nil {
					for range 3 {
						if err := ready(context.Background()); !errors.Is(err, tc.upErr) {
							t.Errorf("ready: %v, want %v", err, tc.upErr)
						}
					}
				}
			}
			if calls != tc.calls || calls > 0 && waited != 42*time.Second {
				t.Errorf("brought up %d times (wait %s), want %d (wait 42s)", calls, waited, tc.calls)
			}
			if got := strings.Join(log, "\n"); got != tc.log {
				t.Errorf("log %q, want %q", got, tc.log)
			}
		})
	}
}

// TestURLWithoutRange: a server that answers no Range request lists the
// UKI by its URL, says why, and the UKI still boots (downloaded whole).
func TestURLWithoutRange(t *testing.T) {
	f := newNetFleet(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.served)))
		w.Write(f.served)
	}))
	defer srv.Close()
	url := srv.URL + "/fleet.efi"
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-db", f.db, "-root", f.esp, "-url", url}, &stdout, &stderr, (&fakeSystem{platform: noPlatform(t)}).sys()); rc != 0 {
		t.Fatalf("-list: rc %d\n%s", rc, stderr.String())
	}
	for _, want := range []string{"* 1  fleet.efi  " + url, "fleet.efi: " + url + ": the server does not support Range requests"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-list lacks %q:\n%s", want, stdout.String())
		}
	}
	fs := &fakeSystem{platform: noPlatform(t)}
	if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-url", url}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-NET" {
		t.Errorf("-auto: rc %d, loads %+v\n%s", rc, fs.loads, stderr.String())
	}
}

// TestMenuNetworkEntryEditable: the menu does not read a network UKI to
// say whether its command line can be edited: under enforcement it
// cannot, otherwise it can.
func TestMenuNetworkEntryEditable(t *testing.T) {
	f := newNetFleet(t)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.served))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, verify string
		editable     bool
	}{
		{"enforced: not editable", "enforce", false},
		{"report only: editable", "auto", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{verify: tc.verify, roots: stringList{t.TempDir()}, urls: stringList{srv.URL + "/fleet.efi"}, netReadTimeout: time.Second}
			if tc.verify == "enforce" {
				o.db = stringList{f.db}
			}
			p, err := openPipeline(o, (&fakeSystem{platform: noPlatform(t)}).sys(), io.Discard, func(string, ...any) {})
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			listed := requests.Load()
			items := p.menuItems()
			if len(items) != 1 || items[0].ID != "fleet.efi" || items[0].Editable != tc.editable || !tc.editable && !strings.Contains(items[0].NotEditable, "verification is enforced") {
				t.Errorf("items %+v, want fleet.efi, editable %v", items, tc.editable)
			}
			if n := requests.Load() - listed; n != 0 {
				t.Errorf("drawing the menu sent %d requests", n)
			}
		})
	}
}

// TestURLBootsWithoutDisk: with -url, a scan that finds no ESP is
// logged, and the -url entry boots; without -url it is the end.
func TestURLBootsWithoutDisk(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/fleet.efi", f.served)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		name   string
		args   []string
		rc     int
		loaded string
	}{
		{"-url", []string{"-url", srv.URL + "/fleet.efi"}, 0, "K-NET"},
		{"no -url", nil, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeSystem{platform: noPlatform(t)}
			sys := fs.sys()
			sys.roots = func(*options, func(string, ...any)) (*partitions, error) {
				return nil, errors.New("scanning disks for 10s: no ESP partition found")
			}
			var stdout, stderr bytes.Buffer
			rc := runWith(append([]string{"-auto", "-db", f.db}, tc.args...), &stdout, &stderr, sys)
			loaded := ""
			if len(fs.loads) == 1 {
				loaded = string(fs.loads[0].kernel)
			}
			if rc != tc.rc || loaded != tc.loaded || !strings.Contains(stderr.String(), "no ESP partition found") {
				t.Errorf("rc %d, loaded %q; want %d, %q, and the scan's error logged:\n%s", rc, loaded, tc.rc, tc.loaded, stderr.String())
			}
		})
	}
}
