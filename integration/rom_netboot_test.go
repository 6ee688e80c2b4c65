package integration

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/pe"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// Network boot on the ROM (issue 15). The HTTP(S) servers run in the test
// process on the host's loopback and the guest reaches them through qemu's
// user network (slirp): its host alias 10.0.2.2 is the host's 127.0.0.1,
// and its IPv6 host alias fec0::2 is the host's ::1 (libslirp rewrites a
// connection to its host alias to the host's loopback of the same family:
// checked by experiment with qemu 7.2 and libslirp 4.7, where a guest's
// connection to [fec0::2]:PORT reached the listener on [::1]:PORT, not
// the one on 127.0.0.1:PORT). No other address is used.
// The test ROM has the test-only HTTPS CA of rom/testkeys as
// /etc/ukiboot/ca.pem (make rom-test's CA=); the tests issue the server
// certificate from it.

// romCA is where make rom-test's CA= puts the HTTPS CA in the ROM.
const romCA = "/etc/ukiboot/ca.pem"

// The guest's names for the host's loopback addresses.
const (
	hostAlias4 = "10.0.2.2"
	hostAlias6 = "fec0::2"
)

// userNet is a virtio-net NIC (the ROM kernel's driver) on qemu's user
// network, with IPv4 (DHCP from slirp) and IPv6 (SLAAC) as asked.
func userNet(ipv4, ipv6 bool) qemu.Fn {
	onOff := map[bool]string{true: "on", false: "off"}
	return func(alloc *qemu.IDAllocator, opts *qemu.Options) error {
		id := alloc.ID("net")
		opts.AppendQEMU(
			"-netdev", "user,id="+id+",ipv4="+onOff[ipv4]+",ipv6="+onOff[ipv6],
			"-device", "virtio-net-pci,netdev="+id)
		return nil
	}
}

// rtcBase sets the guest's clock (the CMOS RTC the ROM kernel reads).
func rtcBase(date string) qemu.Fn { return qemu.ArbitraryArgs("-rtc", "base="+date) }

// testCA is a CA certificate and its key.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// romHTTPSCA loads the test-only CA baked into the test ROM.
func romHTTPSCA(t *testing.T) testCA {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "rom", "testkeys")
	crt, err := tls.LoadX509KeyPair(filepath.Join(dir, "https-ca.crt"), filepath.Join(dir, "https-ca.key"))
	if err != nil {
		t.Fatalf("the test ROM's HTTPS CA: %v", err)
	}
	c, err := x509.ParseCertificate(crt.Certificate[0])
	if err != nil {
		t.Fatalf("rom/testkeys/https-ca.crt: %v", err)
	}
	key, ok := crt.PrivateKey.(crypto.Signer)
	if !ok {
		t.Fatalf("rom/testkeys/https-ca.key: a %T is not a signer", crt.PrivateKey)
	}
	return testCA{cert: c, key: key}
}

// newTestCA makes a CA that the ROM does not trust.
func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: c, key: key}
}

// serverCert issues a server certificate for the guest's names of the
// host (10.0.2.2 and fec0::2), valid for a day from an hour ago, or from
// the CA's own start when that is later. The server presents it alone, as
// servers do (not the root).
func (ca testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key := newKey(t)
	notBefore := time.Now().Add(-time.Hour)
	if ca.cert.NotBefore.After(notBefore) {
		notBefore = ca.cert.NotBefore
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(t),
		Subject:      pkix.Name{CommonName: hostAlias4},
		NotBefore:    notBefore,
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP(hostAlias4), net.ParseIP(hostAlias6)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ukiServer serves files by path with net/http's ServeContent (which
// answers Range requests) on a listener on the host's loopback, and
// records each request.
type ukiServer struct {
	srv   *httptest.Server
	port  string
	files map[string][]byte

	mu   sync.Mutex
	reqs []string // "GET /path" or "GET /path bytes=A-B"
}

// serveUKIs starts a server on addr ("127.0.0.1:0" or "[::1]:0"), over
// TLS with cert when it is not nil; it stops when the test ends.
func serveUKIs(t *testing.T, addr string, cert *tls.Certificate, files map[string][]byte) *ukiServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	_, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := &ukiServer{port: port, files: files}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	// TLS handshake errors (the wrong CA's refusals) go to the test log.
	s.srv.Config.ErrorLog = log.New(testLogWriter{t}, "server: ", 0)
	if cert != nil {
		s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(func() {
		s.srv.Close()
		if t.Failed() {
			t.Logf("requests to the server on %s: %q", l.Addr(), s.requests())
		}
	})
	return s
}

func (s *ukiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Range")))
	s.mu.Unlock()
	b, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(b))
}

// url is the guest's URL of path on this server, through host, the
// guest's name of the host (hostAlias4 or hostAlias6).
func (s *ukiServer) url(host, path string) string {
	scheme := "http"
	if s.srv.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, s.port) + path
}

// requests returns the requests so far.
func (s *ukiServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// wholeGets counts the GETs of path without a Range header: the download
// of the chosen UKI is one of them, streamed once.
func (s *ukiServer) wholeGets(path string) int {
	n := 0
	for _, r := range s.requests() {
		if r == "GET "+path {
			n++
		}
	}
	return n
}

// testLogWriter writes to the test log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// closedPort returns a port on the host's loopback that nothing listens on
// (it was free a moment ago): the server that is down.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// tamper returns a copy of the signed UKI with one byte of its .linux
// section flipped: its headers and .osrel still list it, but its
// Authenticode digest no longer matches.
func tamper(t *testing.T, uki []byte) []byte {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(uki))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(".linux")
	if s == nil {
		t.Fatal("the UKI has no .linux")
	}
	b := bytes.Clone(uki)
	b[s.Offset+s.Size/2] ^= 0xff
	return b
}

// consoleInOrder checks that the console has, in this order, a line
// holding all the parts of each of lines.
func consoleInOrder(t *testing.T, console string, lines ...[]string) {
	t.Helper()
	rest := strings.Split(console, "\n")
	var after []string
next:
	for _, parts := range lines {
		for i, l := range rest {
			if containsAll(l, parts) {
				rest, after = rest[i+1:], parts
				continue next
			}
		}
		if after == nil {
			t.Errorf("the console has no line with all of %q", parts)
		} else {
			t.Errorf("the console has no line with all of %q after the line with %q", parts, after)
		}
		return
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// netbootFixture is the ROM, a disk whose entry boots when no network
// entry does, and the kernel the ROM kexecs (Debian's, signed with the
// ROM's kernel key).
type netbootFixture struct {
	*romFixture
	signed []byte
	disk   string
}

func needNetboot(t *testing.T) *netbootFixture {
	t.Helper()
	f := needROM(t)
	n := &netbootFixture{romFixture: f, signed: sbsign(t, f.debian, f.keys.kernelKey, f.keys.kernelCert, true)}
	n.disk = espDisk(t, map[string][]byte{"EFI/Linux/disk-1.efi": f.uki(t, "disk", "1", "disk", n.signed)})
	return n
}

// bootNet boots the ROM with the disk, the NICs and options of qemu, and
// ukiboot's args.
func (n *netbootFixture) bootNet(t *testing.T, args string, fns ...qemu.Fn) (string, *Report) {
	t.Helper()
	return n.boot(t, VMOptions{Disks: []string{n.disk}, QEMU: fns}, "-auto -v "+args)
}

// versionedUKI is a UKI signed for the ROM whose kernel release (.uname)
// is release, the version #min-version compares.
func (n *netbootFixture) versionedUKI(t *testing.T, release, marker string) []byte {
	t.Helper()
	u := ukitest.UKI(
		ukitest.S(".osrel", "ID="+marker+"\nVERSION_ID="+release+"\n"),
		ukitest.S(".cmdline", stage2Cmdline+" scenario="+marker),
		ukitest.S(".uname", release),
		ukitest.B(".linux", n.signed),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-" + marker, Data: []byte(marker + "\n")})))
	return sbsign(t, u, n.keys.ukiKey, n.keys.ukiCert, false)
}

// wantBooted checks that the second stage is the UKI with marker.
func wantBooted(t *testing.T, r *Report, marker string) {
	t.Helper()
	if want := stage2Cmdline + " scenario=" + marker; r.Cmdline != want {
		t.Errorf("second kernel's /proc/cmdline %q, want the %s UKI's %q", r.Cmdline, marker, want)
	}
	if r.Markers["marker-"+marker] != marker {
		t.Errorf("markers %v, want the %s UKI's initrd", r.Markers, marker)
	}
}

// TestROMNetbootRefusedFallsBackToDisk: with -auto, the network entries
// come first, each fails for its own reason, and the disk entry boots:
// a server that is down (a closed port), an HTTPS server whose
// certificate the ROM's CA did not issue, a tampered copy of a signed
// UKI, whose download fails verification under enforcement, and a
// trusted UKI older than its URL's #min-version (a rollback). No -ca: the
// ROM's /etc/ukiboot/ca.pem is the default.
func TestROMNetbootRefusedFallsBackToDisk(t *testing.T) {
	t.Parallel()
	n := needNetboot(t)
	good := n.uki(t, "net", "2", "net", n.signed)
	plain := serveUKIs(t, "127.0.0.1:0", nil, map[string][]byte{
		"/tampered.efi": tamper(t, good),
		"/old.efi":      n.versionedUKI(t, "6.1.0", "old"),
	})
	wrongCert := newTestCA(t, "a CA the ROM does not trust").serverCert(t)
	wrong := serveUKIs(t, "127.0.0.1:0", &wrongCert, map[string][]byte{"/wrong-ca.efi": good})
	down := "http://" + net.JoinHostPort(hostAlias4, closedPort(t)) + "/down.efi"
	wrongURL, tamperedURL, oldURL := wrong.url(hostAlias4, "/wrong-ca.efi"), plain.url(hostAlias4, "/tampered.efi"), plain.url(hostAlias4, "/old.efi")

	out, r := n.bootNet(t, fmt.Sprintf("-url %s -url %s -url %s -url %s#min-version=6.2", down, wrongURL, tamperedURL, oldURL),
		userNet(true, true))
	wantBooted(t, r, "disk")
	consoleInOrder(t, out,
		[]string{"network: eth0 DHCPv4: 10.0.2.15/24"},
		[]string{"verification: enforce"},
		[]string{"cannot boot down.efi: ", down, "connection refused"},
		[]string{"cannot boot wrong-ca.efi: ", wrongURL, "certificate signed by unknown authority"},
		[]string{"cannot boot tampered.efi: ", tamperedURL, "the signed digest does not match this image"},
		[]string{"cannot boot old.efi: ", oldURL, "version 6.1.0, older than the minimum 6.2", "rollback"},
		[]string{"loaded disk-1.efi; starting it"})
	if got := wrong.requests(); len(got) != 0 {
		t.Errorf("the server with the wrong CA answered %q: the guest must not send requests after the TLS handshake failed", got)
	}
	for _, p := range []string{"/tampered.efi", "/old.efi"} {
		if got := plain.wholeGets(p); got != 1 {
			t.Errorf("%s was downloaded %d times, want once (requests %q)", p, got, plain.requests())
		}
	}
}

// TestROMNetbootHTTPSClock2001: the guest's clock says 2001 (an unset
// RTC), yet with -ca the ROM's CA the served UKI boots over HTTPS (the
// certificate is checked at ukiboot's time floor), while a server whose
// certificate another CA issued is still refused.
func TestROMNetbootHTTPSClock2001(t *testing.T) {
	t.Parallel()
	n := needNetboot(t)
	goodCert := romHTTPSCA(t).serverCert(t)
	good := serveUKIs(t, "127.0.0.1:0", &goodCert, map[string][]byte{"/https.efi": n.uki(t, "https", "2", "https", n.signed)})
	wrongCert := newTestCA(t, "a CA the ROM does not trust").serverCert(t)
	wrong := serveUKIs(t, "127.0.0.1:0", &wrongCert, map[string][]byte{"/wrong-ca.efi": n.uki(t, "wrong", "3", "wrong", n.signed)})
	goodURL, wrongURL := good.url(hostAlias4, "/https.efi"), wrong.url(hostAlias4, "/wrong-ca.efi")

	out, r := n.bootNet(t, fmt.Sprintf("-ca %s -url %s -url %s", romCA, wrongURL, goodURL), userNet(true, true), rtcBase("2001-01-01"))
	wantBooted(t, r, "https")
	consoleInOrder(t, out,
		[]string{"setting system clock to 2001-01-01"}, // the ROM kernel read the RTC
		[]string{"network: eth0 DHCPv4: 10.0.2.15/24"},
		[]string{"verification: enforce"},
		// The clock rule applied, and the wrong CA is still refused.
		[]string{"cannot boot wrong-ca.efi: ", wrongURL, "the clock, 2001-01-01", "certificate signed by unknown authority"},
		[]string{"https.efi: trusted (signed by CN=ukiboot TEST ONLY UKI signing key"},
		[]string{"loaded https.efi; starting it"})
	if got := good.wholeGets("/https.efi"); got != 1 {
		t.Errorf("%s was downloaded %d times, want once (requests %q)", goodURL, got, good.requests())
	}
	t.Logf("requests to %s: %q", goodURL, good.requests())
}

// TestROMNetbootIPv6Only: on an IPv6-only network (no DHCPv4 answers:
// the address comes from SLAAC), the UKI served over HTTP through the
// IPv6 host alias boots.
func TestROMNetbootIPv6Only(t *testing.T) {
	t.Parallel()
	n := needNetboot(t)
	// fec0::2, slirp's IPv6 host alias, is the host's ::1.
	srv := serveUKIs(t, "[::1]:0", nil, map[string][]byte{"/ipv6.efi": n.uki(t, "ipv6", "2", "ipv6", n.signed)})
	u := srv.url(hostAlias6, "/ipv6.efi")

	out, r := n.bootNet(t, "-url "+u, userNet(false, true))
	wantBooted(t, r, "ipv6")
	consoleInOrder(t, out,
		[]string{"network: up after", "eth0 fec0::"}, // SLAAC
		[]string{"verification: enforce"},
		[]string{"ipv6.efi: trusted (signed by CN=ukiboot TEST ONLY UKI signing key"},
		[]string{"loaded ipv6.efi; starting it"})
	if got := srv.wholeGets("/ipv6.efi"); got != 1 {
		t.Errorf("%s was downloaded %d times, want once (requests %q)", u, got, srv.requests())
	}
}
