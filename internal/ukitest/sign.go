package ukitest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sort"
	"testing"
	"time"
)

// Key is a test signing identity: a key and its certificate.
type Key struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
}

var serial int64 = 100

// NewCA makes a self-signed CA (RSA 2048 unless ec).
func NewCA(t testing.TB, name string, ec bool) *Key {
	t.Helper()
	return newKey(t, name, ec, nil, true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// NewLeaf makes a code-signing certificate issued by ca.
func NewLeaf(t testing.TB, name string, ec bool, ca *Key) *Key {
	t.Helper()
	return newKey(t, name, ec, ca, false, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// NewExpiredLeaf makes a leaf whose validity ended last year.
func NewExpiredLeaf(t testing.TB, name string, ca *Key) *Key {
	t.Helper()
	return newKey(t, name, false, ca, false, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
}

func newKey(t testing.TB, name string, ec bool, parent *Key, isCA bool, notBefore, notAfter time.Time) *Key {
	var priv crypto.Signer
	var err error
	if ec {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ukiboot tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	signerCert, signerKey := tmpl, priv
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, priv.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Signer: priv, Cert: cert}
}

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPEImageData  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSpcOpusInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidRSA             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSASHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	hashOIDs           = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
		crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
		crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
	}
)

func mustMarshal(v any, params ...string) []byte {
	var b []byte
	var err error
	if len(params) > 0 {
		b, err = asn1.MarshalWithParams(v, params[0])
	} else {
		b, err = asn1.Marshal(v)
	}
	if err != nil {
		panic(err)
	}
	return b
}

func seq(parts ...[]byte) []byte {
	return mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: bytes.Join(parts, nil)})
}

func setOf(parts ...[]byte) []byte {
	sorted := append([][]byte(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	return mustMarshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(sorted, nil)})
}

func explicit(tag int, inner []byte) []byte {
	return mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: true, Bytes: inner})
}

func algID(oid asn1.ObjectIdentifier, null bool) []byte {
	if null {
		return seq(mustMarshal(oid), []byte{0x05, 0x00})
	}
	return seq(mustMarshal(oid))
}

// PKCS7 builds an Authenticode PKCS#7 SignedData over imageDigest (the
// Authenticode digest made with alg), signed by key, carrying key's
// certificate and extra (intermediates).
func PKCS7(imageDigest []byte, alg crypto.Hash, key *Key, extra ...*x509.Certificate) []byte {
	// SpcIndirectDataContent.
	obsolete := []byte{0x80, 0x1c} // [0] IMPLICIT BMPString "<<<Obsolete>>>"
	for _, r := range "<<<Obsolete>>>" {
		obsolete = append(obsolete, 0, byte(r))
	}
	peImageData := seq(mustMarshal(asn1.BitString{}), explicit(0, explicit(2, obsolete)))
	spc := seq(
		seq(mustMarshal(oidSpcPEImageData), peImageData),
		seq(algID(hashOIDs[alg], true), mustMarshal(imageDigest)),
	)
	var spcVal asn1.RawValue
	asn1.Unmarshal(spc, &spcVal)
	h := alg.New()
	h.Write(spcVal.Bytes)
	attrs := [][]byte{
		seq(mustMarshal(oidContentType), setOf(mustMarshal(oidSpcIndirectData))),
		seq(mustMarshal(oidMessageDigest), setOf(mustMarshal(h.Sum(nil)))),
		seq(mustMarshal(oidSpcOpusInfo), setOf(seq())),
	}
	attrSet := setOf(attrs...)
	h = alg.New()
	h.Write(attrSet)
	var sig []byte
	var err error
	var sigAlg []byte
	switch key.Signer.(type) {
	case *ecdsa.PrivateKey:
		sig, err = key.Signer.Sign(rand.Reader, h.Sum(nil), alg)
		sigAlg = algID(map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA256: oidECDSASHA256, crypto.SHA384: oidECDSASHA384, crypto.SHA512: oidECDSASHA512}[alg], false)
	case ed25519.PrivateKey:
		panic("ed25519 is not used by Authenticode")
	default:
		sig, err = key.Signer.Sign(rand.Reader, h.Sum(nil), alg)
		sigAlg = algID(oidRSA, true)
	}
	if err != nil {
		panic(err)
	}
	// [0] IMPLICIT for the attributes: same content as the SET.
	implicitAttrs := append([]byte{0xa0}, attrSet[1:]...)
	signerInfo := seq(
		mustMarshal(1),
		seq(key.Cert.RawIssuer, mustMarshal(key.Cert.SerialNumber)),
		algID(hashOIDs[alg], true),
		implicitAttrs,
		sigAlg,
		mustMarshal(sig),
	)
	certs := key.Cert.Raw
	for _, c := range extra {
		certs = append(append([]byte(nil), certs...), c.Raw...)
	}
	certsField := mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs})
	signedData := seq(
		mustMarshal(1),
		setOf(algID(hashOIDs[alg], true)),
		seq(mustMarshal(oidSpcIndirectData), explicit(0, spc)),
		certsField,
		setOf(signerInfo),
	)
	return seq(mustMarshal(oidSignedData), explicit(0, signedData))
}

// PadTo8 zero-pads an unsigned image to 8 bytes, as signing tools do
// before they append the certificate table.
func PadTo8(img []byte) []byte {
	for len(img)%8 != 0 {
		img = append(img, 0)
	}
	return img
}

// AttachSignatures appends a certificate table holding one WIN_CERTIFICATE
// per PKCS#7 blob to an unsigned, 8-byte padded image and points data
// directory 4 at it.
func AttachSignatures(img []byte, sigs ...[]byte) []byte {
	var entries [][]byte
	for _, s := range sigs {
		entries = append(entries, WinCert(0x0002, s))
	}
	return AttachWinCerts(img, entries...)
}

// Digester computes an Authenticode digest of an unsigned image (the
// package under test provides it; the oracle tests check it).
type Digester func(img []byte, alg crypto.Hash) ([]byte, error)

// SignedUKI lays out sections as a UKI, pads it and signs it with key,
// using digest for the Authenticode digest.
func SignedUKI(t testing.TB, digest Digester, key *Key, secs ...Section) []byte {
	t.Helper()
	img := PadTo8(UKI(secs...))
	d, err := digest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return AttachSignatures(img, PKCS7(d, crypto.SHA256, key))
}
