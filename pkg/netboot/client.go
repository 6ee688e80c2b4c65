package netboot

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/ukiboot/ukiboot/pkg/httpra"
)

// sourceFloor is the earliest time this source tree can run at: the
// date of its clock rule. BuildFloor raises it to the build's commit time.
func sourceFloor() time.Time { return time.Date(2026, time.November, 30, 0, 0, 0, 0, time.UTC) }

// DefaultConnectTimeout bounds a TCP connect and, separately, a TLS
// handshake when ClientOptions.ReadTimeout is zero.
const DefaultConnectTimeout = 30 * time.Second

// ClientOptions configure NewClient.
type ClientOptions struct {
	// CAFile is a PEM bundle whose certificates replace the system roots
	// (-ca). Empty: the system roots (/etc/ssl/certs in the ROM).
	CAFile string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Floor is the earliest true time (see NewClient); zero is BuildFloor().
	Floor time.Time
	// ReadTimeout bounds a TCP connect and a TLS handshake; zero is
	// DefaultConnectTimeout. Reads of bodies have their own deadlines in
	// the callers (pkg/httpra, Source).
	ReadTimeout time.Duration
}

// BuildFloor is the earliest time this binary can be running at: the
// later of the date of this source and the build's commit time
// (debug.ReadBuildInfo's vcs.time, when the build recorded it).
func BuildFloor() time.Time {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return sourceFloor()
	}
	return floorOf(bi.Settings)
}

// floorOf is the later of sourceFloor and the vcs.time of settings.
func floorOf(settings []debug.BuildSetting) time.Time {
	floor := sourceFloor()
	for _, s := range settings {
		if s.Key != "vcs.time" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, s.Value); err == nil && t.After(floor) {
			floor = t
		}
	}
	return floor
}

// NewClient returns the HTTP(S) client of network boot.
//
// Certificates are checked against the roots of o.CAFile, or the system's.
// The time they are checked at follows the clock rule: a machine without a
// set RTC boots in 1970 or 2000, when no certificate is valid, so when the
// clock is before o.Floor the chain is checked at the floor instead, or at
// the latest NotBefore among the chain's certificates (root included)
// when that is later (the true time is unknown but not before the floor,
// so a certificate issued after the floor may well be valid). A
// certificate that expired before the floor is refused. With a clock at
// or after the floor, the clock decides. Integrity does not depend on this: every UKI
// is verified against the trust store; TLS adds confidentiality and server
// authentication.
//
// The client follows at most httpra.MaxRedirects redirects and ignores
// proxy variables in the environment: a ROM has no proxy, and the kernel
// passes unknown command-line parameters (http_proxy=...) to init as
// environment variables, which must not redirect boot traffic.
func NewClient(o ClientOptions) (*http.Client, error) {
	roots, err := loadRoots(o.CAFile)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Floor.IsZero() {
		o.Floor = BuildFloor()
	}
	timeout := o.ReadTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	v := &verifier{roots: roots, now: o.Now, floor: o.Floor}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return v.dialTLS(ctx, dialer, timeout, network, addr)
		},
		// HTTP/1.1 only (dialTLS offers no h2): a boot loader downloads
		// one file at a time and gains nothing from multiplexing, and Go's
		// HTTP/2 client read one 200 MiB body over TLS on loopback at
		// about 380 MiB/s where HTTP/1.1 read 700-1000 MiB/s (its flow
		// control windows), slower than the hashes.
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          4,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, CheckRedirect: checkRedirect}, nil
}

// checkRedirect follows at most httpra.MaxRedirects redirects.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > httpra.MaxRedirects {
		return fmt.Errorf("more than %d redirects (a loop?); point the URL at the file itself", httpra.MaxRedirects)
	}
	return nil
}

// loadRoots reads the PEM bundle at file, or the system roots when file
// is empty. Every PEM block must be a valid certificate.
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			return nil, fmt.Errorf("netboot: the system's CA certificates: %v; give -ca FILE", err)
		}
		return pool, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err // the file is named already
		}
		return nil, fmt.Errorf("netboot: CA file %s: %v; give a PEM file of CA certificates", file, err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("netboot: CA file %s: PEM block %d is a %q, not a CERTIFICATE; give a file of CA certificates only", file, n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("netboot: CA file %s: certificate %d: %v; fix or remove it", file, n, err)
		}
		pool.AddCert(c)
	}
	// pem.Decode skips a broken block silently: count the headers.
	if begins := bytes.Count(data, []byte("-----BEGIN ")); begins != n {
		return nil, fmt.Errorf("netboot: CA file %s: %d of %d PEM blocks are broken; fix or remove them", file, begins-n, begins)
	}
	if n == 0 {
		return nil, fmt.Errorf("netboot: CA file %s: no PEM certificate in the file; give a PEM file of CA certificates", file)
	}
	return pool, nil
}

// verifier checks server certificates by the clock rule.
type verifier struct {
	roots *x509.CertPool
	now   func() time.Time
	floor time.Time
}

// dialTLS connects to addr and completes a TLS handshake whose certificate
// check knows the host the connection is for (tls.ConnectionState has no
// server name for an IP address, so it is passed here).
func (v *verifier) dialTLS(ctx context.Context, d *net.Dialer, timeout time.Duration, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		ServerName: host,
		NextProtos: []string{"http/1.1"},
		MinVersion: tls.VersionTLS12,
		// The chain and the host name are checked by verify, always (the
		// clock rule needs a time Go's own check cannot take).
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return v.verify(host, cs.PeerCertificates)
		},
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// verify checks that certs (leaf first) chain to a root and name host, at
// the time of the clock rule.
func (v *verifier) verify(host string, certs []*x509.Certificate) error {
	if len(certs) == 0 || host == "" {
		return errors.New("the server presented no certificate")
	}
	now := v.now()
	opts := x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: x509.NewCertPool(),
		DNSName:       host,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if !now.Before(v.floor) {
		_, err := certs[0].Verify(opts)
		return v.untrusted(host, "", err)
	}
	// The clock is wrong: check at the floor, or, when a certificate of
	// the chain (the root too, which the server does not present) was
	// issued later, at its NotBefore. Each step moves the time forward,
	// never before the floor, so a certificate that expired before the
	// floor stays refused, and so does a chain with no time at which all
	// its certificates are valid.
	opts.CurrentTime = v.floor
	for range maxTimeSteps {
		_, err := certs[0].Verify(opts)
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert != nil && inv.Cert.NotBefore.After(opts.CurrentTime) {
			opts.CurrentTime = inv.Cert.NotBefore
			continue
		}
		why := fmt.Sprintf(" (checked at %s: the clock, %s, is before this build's date)",
			opts.CurrentTime.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		return v.untrusted(host, why, err)
	}
	return fmt.Errorf("the certificate chain of %s has no time at which it is valid; fix the server's certificate", host)
}

// maxTimeSteps bounds the times verify tries: one per certificate of a
// chain issued after the floor.
const maxTimeSteps = 8

// untrusted words a verification error; nil stays nil.
func (v *verifier) untrusted(host, why string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("the certificate of %s is not trusted%s: %w; give the CA that signed it with -ca, or fix the server's certificate", host, why, err)
}
