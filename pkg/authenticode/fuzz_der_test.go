package authenticode

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// FuzzCanonicalDER: the canonical-DER check never panics, and what it
// accepts re-encodes to itself and is one element.
func FuzzCanonicalDER(f *testing.F) {
	ca := ukitest.NewCA(f, "fuzz CA", true)
	f.Add(ca.Cert.Raw)
	f.Add(ukitest.Mangle(f, ukitest.NewLeaf(f, "fuzz leaf", true, ca), ukitest.UnusedBits).Cert.Raw)
	f.Add([]byte{0x30, 0x81, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		if checkCanonicalCert(der) != nil {
			return
		}
		e, rest, err := parseTLV(der, 0)
		if err != nil || len(rest) != 0 {
			t.Fatalf("accepted, but it does not parse as one element: %v", err)
		}
		var b bytes.Buffer
		if err := e.reencode(&b); err != nil || !bytes.Equal(b.Bytes(), der) {
			t.Fatalf("accepted, but it re-encodes differently: %v", err)
		}
	})
}

// FuzzCertificateBag: a SignedData certificates field never panics the
// splitter and never yields more certificates than the cap, each of them
// one whole element.
func FuzzCertificateBag(f *testing.F) {
	ca := ukitest.NewCA(f, "fuzz CA", true)
	leaf := ukitest.NewLeaf(f, "fuzz leaf", true, ca)
	f.Add(append(append([]byte(nil), leaf.Cert.Raw...), ca.Cert.Raw...))
	f.Add([]byte{0x30, 0x00, 0x30, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		ders, err := splitCertificates(b, 4)
		if err != nil {
			return
		}
		if len(ders) > 4 {
			t.Fatalf("%d certificates, cap 4", len(ders))
		}
		if !bytes.Equal(bytes.Join(ders, nil), b) {
			t.Fatal("the pieces do not add up to the input")
		}
		for _, d := range ders {
			if checkCanonicalCert(d) == nil {
				if _, err := x509.ParseCertificate(d); err != nil {
					return // canonical DER that is no certificate: refused later
				}
			}
		}
	})
}
