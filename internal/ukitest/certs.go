package ukitest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// CertSpec describes a test certificate that NewCA and NewLeaf cannot
// make: unusual versions, constraints and extensions, a reused key.
type CertSpec struct {
	Name   string
	RSA    bool          // RSA 2048 instead of P-256
	Key    crypto.Signer // reuse this key instead of making one
	Parent *Key          // issuer; nil for self-signed
	IsCA   bool
	// PathLen, when not nil, sets pathLenConstraint (IsCA must be set).
	PathLen *int
	// NoBasicConstraints leaves out the basicConstraints extension.
	NoBasicConstraints bool
	// KeyUsage replaces the default (digitalSignature, and certSign for
	// a CA) when not zero.
	KeyUsage x509.KeyUsage
	// CriticalOID adds an extension nobody knows, marked critical.
	CriticalOID asn1.ObjectIdentifier
	// V1 makes an X.509 version 1 certificate: no version field, no
	// extensions.
	V1 bool
}

// OIDUnknown is an extension under a private arc that nothing implements.
var OIDUnknown = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 1}

// NewCert makes the certificate spec describes.
func NewCert(t testing.TB, spec CertSpec) *Key {
	t.Helper()
	priv := spec.Key
	var err error
	if priv == nil {
		if spec.RSA {
			priv, err = rsa.GenerateKey(rand.Reader, 2048)
		} else {
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: spec.Name, Organization: []string{"ukiboot tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: !spec.NoBasicConstraints,
		IsCA:                  spec.IsCA,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if spec.IsCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if spec.KeyUsage != 0 {
		tmpl.KeyUsage = spec.KeyUsage
	}
	if spec.PathLen != nil {
		tmpl.MaxPathLen = *spec.PathLen
		tmpl.MaxPathLenZero = *spec.PathLen == 0
	}
	if spec.CriticalOID != nil {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: spec.CriticalOID, Critical: true, Value: []byte{0x05, 0x00}})
	}
	parentCert, parentKey := tmpl, priv
	if spec.Parent != nil {
		parentCert, parentKey = spec.Parent.Cert, spec.Parent.Signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, priv.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	if spec.V1 {
		der = toV1(t, der, parentKey)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Signer: priv, Cert: cert}
}

// certificate is the outer structure of an X.509 certificate.
type certificate struct {
	TBS    asn1.RawValue
	SigAlg asn1.RawValue
	Sig    asn1.BitString
}

func splitCert(t testing.TB, der []byte) certificate {
	t.Helper()
	var c certificate
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// toV1 drops the version and the extensions of a v3 certificate and signs
// it again with key, its issuer's.
func toV1(t testing.TB, der []byte, key crypto.Signer) []byte {
	t.Helper()
	c := splitCert(t, der)
	var tbs []byte
	rest := c.TBS.Bytes
	for len(rest) > 0 {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		if f.Class == asn1.ClassContextSpecific { // [0] version, [3] extensions
			continue
		}
		tbs = append(tbs, f.FullBytes...)
	}
	tbs = seq(tbs)
	sum := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return seq(tbs, c.SigAlg.FullBytes, mustMarshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}))
}

// Reissue makes a renewal of k's certificate: the same subject and key, a
// new serial number, issued by ca (self-signed again when ca is k).
func Reissue(t testing.TB, k *Key, ca *Key) *Key {
	t.Helper()
	tmpl := *k.Cert
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotAfter = tmpl.NotAfter.Add(time.Hour)
	parent, key := ca.Cert, ca.Signer
	if ca == k {
		parent = &tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, parent, k.Signer.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Signer: k.Signer, Cert: c}
}

// Mangling changes how a certificate is encoded without changing what it
// says (its TBSCertificate). Go's x509 parser accepts each result, and the
// certificate's signature still verifies.
type Mangling int

const (
	// TrailingElement adds a NULL after the signature, inside the
	// Certificate SEQUENCE.
	TrailingElement Mangling = iota
	// UnusedBits encodes the signature BIT STRING with one unused bit. The
	// issuer must be ECDSA: a DER signature starts with 0x30, so its bits
	// shift left by one without loss, and Go (which right-aligns the bits)
	// still sees the same signature.
	UnusedBits
	// HighS replaces the ECDSA signature (r, s) by (r, n-s), which
	// verifies as well (the issuer must be P-256).
	HighS
)

// Mangle returns k with its certificate encoded as m says.
func Mangle(t testing.TB, k *Key, m Mangling) *Key {
	t.Helper()
	c := splitCert(t, k.Cert.Raw)
	var der []byte
	switch m {
	case TrailingElement:
		der = seq(c.TBS.FullBytes, c.SigAlg.FullBytes, mustMarshal(c.Sig), []byte{0x05, 0x00})
	case UnusedBits:
		sig := c.Sig.Bytes
		if sig[0]&0x80 != 0 {
			t.Fatal("UnusedBits needs a signature whose first bit is 0 (an ECDSA issuer)")
		}
		shifted := make([]byte, len(sig))
		for i := range sig {
			shifted[i] = sig[i] << 1
			if i+1 < len(sig) {
				shifted[i] |= sig[i+1] >> 7
			}
		}
		bits := mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBitString, Bytes: append([]byte{1}, shifted...)})
		der = seq(c.TBS.FullBytes, c.SigAlg.FullBytes, bits)
	case HighS:
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(c.Sig.Bytes, &rs); err != nil {
			t.Fatalf("HighS needs an ECDSA issuer: %v", err)
		}
		rs.S.Sub(elliptic.P256().Params().N, rs.S)
		sig := mustMarshal(rs)
		der = seq(c.TBS.FullBytes, c.SigAlg.FullBytes, mustMarshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}))
	}
	if bytes.Equal(der, k.Cert.Raw) {
		t.Fatal("mangling changed nothing")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("Go's parser refuses the mangled certificate: %v", err)
	}
	return &Key{Signer: k.Signer, Cert: cert}
}
