package netboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// day is a date in UTC.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// testFloor is the floor the tests give NewClient (not BuildFloor, which
// moves with the build).
var testFloor = day(2026, time.November, 30)

// pki is a certificate with its key.
type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// certSpec says what certificate to make.
type certSpec struct {
	cn                  string
	ca                  bool
	ips                 []net.IP
	dns                 []string
	notBefore, notAfter time.Time
}

// issue makes a certificate by spec, signed by parent (self-signed when nil).
func issue(t *testing.T, spec certSpec, parent *pki) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.cn},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		IPAddresses:           spec.ips,
		DNSNames:              spec.dns,
		BasicConstraintsValid: true,
		IsCA:                  spec.ca,
	}
	if spec.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pki{cert: c, key: key}
}

// newCA is a root CA valid 2020..2040.
func newCA(t *testing.T, cn string) *pki {
	return issue(t, certSpec{cn: cn, ca: true, notBefore: day(2020, 1, 1), notAfter: day(2040, 1, 1)}, nil)
}

// leafFor127 is a server certificate for 127.0.0.1 valid from nb to na.
func leafFor127(t *testing.T, ca *pki, nb, na time.Time) *pki {
	return issue(t, certSpec{cn: "server", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: nb, notAfter: na}, ca)
}

func pemOf(certs ...*pki) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return b
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serveTLS starts an HTTPS server on loopback presenting chain (leaf first).
func serveTLS(t *testing.T, h2 bool, chain ...*pki) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	}))
	cert := tls.Certificate{PrivateKey: chain[0].key, Leaf: chain[0].cert}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.cert.Raw)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestClientCertificates(t *testing.T) {
	ca := newCA(t, "test CA")
	other := newCA(t, "other CA")
	inter := issue(t, certSpec{cn: "intermediate", ca: true, notBefore: day(2026, 11, 1), notAfter: day(2030, 1, 1)}, ca)
	sane := day(2026, 12, 15)
	unset := day(2001, 1, 1)
	var lateRoot *pki // the root a case's chain made, when its roots are nil
	for _, tc := range []struct {
		name  string
		now   time.Time
		chain func() []*pki
		roots *pki
		want  string // "" for accepted, else a part of the error
	}{
		{"accepted with the CA that signed it", sane,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2026, 11, 1), day(2027, 11, 1))} }, ca, ""},
		{"refused with another CA", sane,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2026, 11, 1), day(2027, 11, 1))} }, other, "not trusted"},
		{"refused for another name", sane,
			func() []*pki {
				return []*pki{issue(t, certSpec{cn: "x", dns: []string{"boot.example"}, notBefore: day(2026, 11, 1), notAfter: day(2027, 11, 1)}, ca)}
			}, ca, "127.0.0.1"},
		{"refused when the CA is presented but is not a root", sane,
			func() []*pki { return []*pki{leafFor127(t, other, day(2026, 11, 1), day(2027, 11, 1)), other} }, ca, "not trusted"},
		{"accepted through an intermediate", sane,
			func() []*pki { return []*pki{leafFor127(t, inter, day(2026, 11, 1), day(2027, 11, 1)), inter} }, ca, ""},
		{"sane clock: expired refused", sane,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2025, 1, 1), day(2026, 12, 1))} }, ca, "expired"},
		{"sane clock: not yet valid refused", sane,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2027, 1, 1), day(2028, 1, 1))} }, ca, "not trusted"},
		{"clock 2001: valid at the floor accepted", unset,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2026, 11, 29), day(2027, 11, 29))} }, ca, ""},
		{"clock 2001: expired before the floor refused", unset,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2025, 1, 1), day(2026, 6, 1))} }, ca, "expired"},
		{"clock 2001: issued after the floor accepted", unset,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2027, 1, 1), day(2028, 1, 1))} }, ca, ""},
		{"clock 2001: intermediate issued after the floor accepted", unset,
			func() []*pki {
				late := issue(t, certSpec{cn: "late intermediate", ca: true, notBefore: day(2027, 2, 1), notAfter: day(2030, 1, 1)}, ca)
				return []*pki{leafFor127(t, late, day(2027, 3, 1), day(2028, 1, 1)), late}
			}, ca, ""},
		{"clock 2001: a root issued after the floor and after its leaf accepted", unset,
			func() []*pki {
				late := issue(t, certSpec{cn: "late root", ca: true, notBefore: day(2027, 2, 1), notAfter: day(2030, 1, 1)}, nil)
				lateRoot = late
				return []*pki{issue(t, certSpec{cn: "server", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: day(2027, 1, 1), notAfter: day(2028, 1, 1)}, late)}
			}, nil, ""},
		{"clock 2001: a root issued after its leaf expired refused", unset,
			func() []*pki {
				late := issue(t, certSpec{cn: "late root", ca: true, notBefore: day(2028, 2, 1), notAfter: day(2030, 1, 1)}, nil)
				lateRoot = late
				return []*pki{issue(t, certSpec{cn: "server", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: day(2027, 1, 1), notAfter: day(2028, 1, 1)}, late)}
			}, nil, "expired"},
		{"clock 2001: another name still refused", unset,
			func() []*pki {
				return []*pki{issue(t, certSpec{cn: "x", dns: []string{"boot.example"}, notBefore: day(2026, 11, 1), notAfter: day(2027, 11, 1)}, ca)}
			}, ca, "127.0.0.1"},
		{"clock 2001: another CA still refused", unset,
			func() []*pki { return []*pki{leafFor127(t, ca, day(2026, 11, 1), day(2027, 11, 1))} }, other, "not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveTLS(t, false, tc.chain()...)
			roots := tc.roots
			if roots == nil {
				roots = lateRoot
			}
			c, err := NewClient(ClientOptions{
				CAFile: writeFile(t, "ca.pem", pemOf(roots)),
				Now:    func() time.Time { return tc.now },
				Floor:  testFloor,
			})
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(c, srv.URL)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("GET %s: %v, want accepted", srv.URL, err)
			case tc.want == "" && body != "hello over HTTP/1.1":
				t.Fatalf("GET %s: body %q", srv.URL, body)
			case tc.want != "" && err == nil:
				t.Fatalf("GET %s accepted, want refused (%q)", srv.URL, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("GET %s: %v, want an error with %q", srv.URL, err, tc.want)
			}
		})
	}
}

// TestClientHTTP11Only: a server that offers HTTP/2 is spoken to in
// HTTP/1.1, the faster of the two for one large body.
func TestClientHTTP11Only(t *testing.T) {
	ca := newCA(t, "test CA")
	srv := serveTLS(t, true, leafFor127(t, ca, day(2026, 11, 1), day(2027, 11, 1)))
	c, err := NewClient(ClientOptions{CAFile: writeFile(t, "ca.pem", pemOf(ca)),
		Now: func() time.Time { return day(2026, 12, 1) }, Floor: testFloor})
	if err != nil {
		t.Fatal(err)
	}
	body, err := get(c, srv.URL)
	if err != nil || body != "hello over HTTP/1.1" {
		t.Fatalf("GET %s = %q, %v; want HTTP/1.1", srv.URL, body, err)
	}
}

func TestClientIgnoresProxyEnvironment(t *testing.T) {
	// net/http reads the proxy variables once per process, so the test
	// checks the transport has no proxy function at all.
	c, err := NewClient(ClientOptions{CAFile: writeFile(t, "ca.pem", pemOf(newCA(t, "CA")))})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport", c.Transport)
	}
	if tr.Proxy != nil {
		t.Fatal("the transport has a proxy function; a ROM must not take a proxy from the environment")
	}
}

func TestClientRedirects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hops    int
		wantErr bool
	}{
		{"10 redirects followed", 10, false},
		{"11 redirects refused", 11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n int
				fmt.Sscanf(r.URL.Path, "/%d", &n)
				if n < tc.hops {
					http.Redirect(w, r, fmt.Sprintf("/%d", n+1), http.StatusFound)
					return
				}
				io.WriteString(w, "here")
			}))
			defer srv.Close()
			c, err := NewClient(ClientOptions{CAFile: writeFile(t, "ca.pem", pemOf(newCA(t, "CA")))})
			if err != nil {
				t.Fatal(err)
			}
			_, err = get(c, srv.URL+"/0")
			if (err != nil) != tc.wantErr {
				t.Fatalf("GET after %d redirects: %v, want error %v", tc.hops, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "redirects") {
				t.Fatalf("error %v does not say redirects", err)
			}
		})
	}
}

func TestClientCAFile(t *testing.T) {
	ca := newCA(t, "CA")
	good := pemOf(ca)
	broken := []byte("-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n")
	badDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})
	for _, tc := range []struct {
		name string
		data []byte // nil: no file
		want string // "" for accepted, else a part of the error
	}{
		{"one certificate", good, ""},
		{"a bundle with comments", append(append([]byte("# my CAs\n"), good...), pemOf(newCA(t, "CA 2"))...), ""},
		{"missing file", nil, "no such file or directory"},
		{"empty file", []byte{}, "no PEM certificate"},
		{"garbage", []byte("this is not PEM\n"), "no PEM certificate"},
		{"a broken block before a good one", append(append([]byte{}, broken...), good...), "1 of 2 PEM blocks are broken"},
		{"a broken block alone", broken, "1 of 1 PEM blocks are broken"},
		{"a certificate block that is not DER", badDER, "certificate 1"},
		{"a private key", append(append([]byte{}, good...), key...), "PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "roots.pem")
			if tc.data != nil {
				file = writeFile(t, "roots.pem", tc.data)
			}
			_, err := NewClient(ClientOptions{CAFile: file})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("NewClient accepted the file, want an error with %q", tc.want)
			case tc.want != "" && (!strings.Contains(strings.ReplaceAll(err.Error(), file, "FILE"), tc.want) || !strings.Contains(err.Error(), file)):
				t.Fatalf("NewClient: %v, want an error naming %s with %q", err, file, tc.want)
			}
		})
	}
}

func TestBuildFloor(t *testing.T) {
	if f := BuildFloor(); f.Before(testFloor) {
		t.Fatalf("BuildFloor() = %v, before the source's date %v", f, testFloor)
	}
	for _, tc := range []struct {
		name     string
		settings []debug.BuildSetting
		want     time.Time
	}{
		{"no VCS information", []debug.BuildSetting{{Key: "GOARCH", Value: "amd64"}}, testFloor},
		{"a commit after the source's date", []debug.BuildSetting{{Key: "vcs.time", Value: "2027-03-04T05:06:07Z"}},
			time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)},
		{"a commit before the source's date", []debug.BuildSetting{{Key: "vcs.time", Value: "2020-01-01T00:00:00Z"}}, testFloor},
		{"a malformed vcs.time", []debug.BuildSetting{{Key: "vcs.time", Value: "yesterday"}}, testFloor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := floorOf(tc.settings); !got.Equal(tc.want) {
				t.Errorf("floorOf = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClientHandshakeTimeout(t *testing.T) {
	// A server that accepts connections and never answers the handshake.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	c, err := NewClient(ClientOptions{CAFile: writeFile(t, "ca.pem", pemOf(newCA(t, "CA"))), ReadTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = get(c, "https://"+ln.Addr().String()+"/uki.efi")
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("GET from a silent server: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the handshake timeout of 200ms took %v", d)
	}
}

// TestNilClientTakesNoProxy: without a client, a Source still takes no
// proxy from the environment (the kernel hands http_proxy=... on its
// command line to init as an environment variable).
func TestNilClientTakesNoProxy(t *testing.T) {
	u, err := ParseURL("http://boot.example/fleet.efi")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSource(u, Options{})
	tr, ok := s.o.Client.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport", s.o.Client.Transport)
	}
	if tr.Proxy != nil {
		t.Fatal("a Source without a client takes its proxy from the environment")
	}
}
