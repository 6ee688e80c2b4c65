package authenticode_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// signature is one signature to attach: a signer and the certificates it
// carries besides its own.
type signature struct {
	key   *ukitest.Key
	extra []*x509.Certificate
}

// signAll signs img (unsigned, padded) with each signature in turn.
func signAll(t *testing.T, img []byte, sigs ...signature) []byte {
	t.Helper()
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var blobs [][]byte
	for _, s := range sigs {
		blobs = append(blobs, ukitest.PKCS7(d, crypto.SHA256, s.key, s.extra...))
	}
	return ukitest.AttachSignatures(img, blobs...)
}

func sig(k *ukitest.Key, extra ...*ukitest.Key) signature {
	s := signature{key: k}
	for _, e := range extra {
		s.extra = append(s.extra, e.Cert)
	}
	return s
}

func store(db, dbx []*ukitest.Key) *authenticode.Store {
	s := authenticode.NewStore()
	for _, k := range db {
		s.DB.Certs = append(s.DB.Certs, k.Cert)
	}
	for _, k := range dbx {
		s.DBX.Certs = append(s.DBX.Certs, k.Cert)
	}
	return s
}

func keysOf(k ...*ukitest.Key) []*ukitest.Key { return k }

type verdictCase struct {
	name    string
	img     []byte
	store   *authenticode.Store
	trusted bool
	reason  string // a part of the reason, for a verdict that is not trusted
}

func checkVerdicts(t *testing.T, cases []verdictCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verify(t, c.img, c.store)
			if got := v.Status == authenticode.Trusted; got != c.trusted {
				t.Fatalf("trusted = %v, want %v: %s", got, c.trusted, v)
			}
			if !c.trusted && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q does not say %q", v.Reason, c.reason)
			}
		})
	}
}

// TestRevocation: a revoked key cannot boot, whatever copy of its
// certificate the signature carries and whatever else would allow the
// image.
func TestRevocation(t *testing.T) {
	img := unsignedUKI("initrd")
	ca := ukitest.NewCert(t, ukitest.CertSpec{Name: "db CA", IsCA: true})
	leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "revoked signer", Parent: ca})
	good := ukitest.NewCert(t, ukitest.CertSpec{Name: "good signer", Parent: ca})
	sub := ukitest.NewCert(t, ukitest.CertSpec{Name: "intermediate", Parent: ca, IsCA: true})
	subLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under intermediate", Parent: sub})
	digest, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	dbWithHash := store(keysOf(ca), keysOf(leaf))
	dbWithHash.DB.ImageHashes[hexs(digest)] = true

	checkVerdicts(t, []verdictCase{
		{name: "control: good signer", img: signAll(t, img, sig(leaf)), store: store(keysOf(ca), nil), trusted: true},
		{name: "dbx leaf, same bytes", img: signAll(t, img, sig(leaf)), store: store(keysOf(ca), keysOf(leaf)), reason: "is in dbx"},
		{name: "dbx leaf, signature carries it with an element after the signature",
			img: signAll(t, img, sig(ukitest.Mangle(t, leaf, ukitest.TrailingElement))), store: store(keysOf(ca), keysOf(leaf)), reason: "not canonical DER"},
		{name: "dbx leaf, signature carries it with unused bits in the signature BIT STRING",
			img: signAll(t, img, sig(ukitest.Mangle(t, leaf, ukitest.UnusedBits))), store: store(keysOf(ca), keysOf(leaf)), reason: "not canonical DER"},
		{name: "dbx leaf, signature carries it with the ECDSA signature (r, n-s)",
			img: signAll(t, img, sig(ukitest.Mangle(t, leaf, ukitest.HighS))), store: store(keysOf(ca), keysOf(leaf)), reason: "encoded differently"},
		{name: "dbx leaf, signature carries a renewal (same subject and key, new serial)",
			img: signAll(t, img, sig(ukitest.Reissue(t, leaf, ca))), store: store(keysOf(ca), keysOf(leaf)), reason: "key of certificate"},
		{name: "dbx issuer: the db CA itself", img: signAll(t, img, sig(leaf)), store: store(keysOf(ca), keysOf(ca)), reason: "revoked"},
		{name: "dbx issuer: a re-issued copy of the db CA (same subject and key)",
			img: signAll(t, img, sig(leaf)), store: store(keysOf(ca), keysOf(ukitest.Reissue(t, ca, ca))), reason: "issued by dbx certificate"},
		{name: "dbx issuer: the intermediate the signature carries",
			img: signAll(t, img, sig(subLeaf, sub)), store: store(keysOf(ca), keysOf(sub)), reason: "revoked"},
		{name: "dbx issuer: intermediate re-issued in dbx",
			img: signAll(t, img, sig(subLeaf, sub)), store: store(keysOf(ca), keysOf(ukitest.Reissue(t, sub, ca))), reason: "revoked"},
		{name: "revoked signature first, good second", img: signAll(t, img, sig(leaf), sig(good)), store: store(keysOf(ca), keysOf(leaf)), reason: "signature 1"},
		{name: "good signature first, revoked second", img: signAll(t, img, sig(good), sig(leaf)), store: store(keysOf(ca), keysOf(leaf)), reason: "signature 2"},
		{name: "image digest in db, signature revoked", img: signAll(t, img, sig(leaf)), store: dbWithHash, reason: "revoked"},
		{name: "control: image digest in db, good signature", img: signAll(t, img, sig(good)), store: dbWithHash, trusted: true},
	})
}

// TestChains: paths to db are checked as OpenSSL checks them for UEFI
// firmware, with UEFI's exceptions (no dates, no EKU).
func TestChains(t *testing.T) {
	img := unsignedUKI("initrd")
	zero, one := 0, 1
	unknown := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}
	root := ukitest.NewCert(t, ukitest.CertSpec{Name: "root", IsCA: true})
	v1 := ukitest.NewCert(t, ukitest.CertSpec{Name: "v1 intermediate", Parent: root, V1: true})
	v1Leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under v1", Parent: v1})
	v1Root := ukitest.NewCert(t, ukitest.CertSpec{Name: "v1 root", V1: true})
	v1RootLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under v1 root", Parent: v1Root})
	v3 := ukitest.NewCert(t, ukitest.CertSpec{Name: "v3 intermediate", Parent: root, IsCA: true})
	v3Leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under v3", Parent: v3})
	root0 := ukitest.NewCert(t, ukitest.CertSpec{Name: "root pathlen 0", IsCA: true, PathLen: &zero})
	mid0 := ukitest.NewCert(t, ukitest.CertSpec{Name: "under pathlen 0", Parent: root0, IsCA: true})
	leaf0 := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer 2 below pathlen 0", Parent: mid0})
	direct0 := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer right below pathlen 0", Parent: root0})
	root1 := ukitest.NewCert(t, ukitest.CertSpec{Name: "root pathlen 1", IsCA: true, PathLen: &one})
	mid1 := ukitest.NewCert(t, ukitest.CertSpec{Name: "under pathlen 1", Parent: root1, IsCA: true})
	leaf1 := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer 2 below pathlen 1", Parent: mid1})
	critLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "critical leaf", Parent: root, CriticalOID: unknown})
	critMid := ukitest.NewCert(t, ukitest.CertSpec{Name: "critical intermediate", Parent: root, IsCA: true, CriticalOID: unknown})
	critMidLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under critical", Parent: critMid})
	critRoot := ukitest.NewCert(t, ukitest.CertSpec{Name: "critical root", IsCA: true, CriticalOID: unknown})
	critRootLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under critical root", Parent: critRoot})
	notCA := ukitest.NewCert(t, ukitest.CertSpec{Name: "not a CA", Parent: root})
	notCALeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under non-CA", Parent: notCA})
	noSign := ukitest.NewCert(t, ukitest.CertSpec{Name: "CA without certSign", Parent: root, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	noSignLeaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer under no-certSign", Parent: noSign})
	expiredCA := ukitest.NewCA(t, "expired's CA", false)
	expired := ukitest.NewExpiredLeaf(t, "expired", expiredCA)

	checkVerdicts(t, []verdictCase{
		{name: "v3 intermediate", img: signAll(t, img, sig(v3Leaf, v3)), store: store(keysOf(root), nil), trusted: true},
		{name: "v1 intermediate", img: signAll(t, img, sig(v1Leaf, v1)), store: store(keysOf(root), nil), reason: "X.509 v1"},
		{name: "v1 self-signed root in db", img: signAll(t, img, sig(v1RootLeaf)), store: store(keysOf(v1Root), nil), trusted: true},
		{name: "v1 intermediate in db as the anchor", img: signAll(t, img, sig(v1Leaf)), store: store(keysOf(v1), nil), reason: "X.509 v1"},
		{name: "pathlen 0, one intermediate below", img: signAll(t, img, sig(leaf0, mid0)), store: store(keysOf(root0), nil), reason: "pathLenConstraint"},
		{name: "pathlen 0, signer right below", img: signAll(t, img, sig(direct0)), store: store(keysOf(root0), nil), trusted: true},
		{name: "pathlen 1, one intermediate below", img: signAll(t, img, sig(leaf1, mid1)), store: store(keysOf(root1), nil), trusted: true},
		{name: "unknown critical extension on the signer", img: signAll(t, img, sig(critLeaf)), store: store(keysOf(root), nil), reason: "critical extension"},
		{name: "unknown critical extension on the intermediate", img: signAll(t, img, sig(critMidLeaf, critMid)), store: store(keysOf(root), nil), reason: "critical extension"},
		{name: "unknown critical extension on the db anchor", img: signAll(t, img, sig(critRootLeaf)), store: store(keysOf(critRoot), nil), reason: "critical extension"},
		{name: "issuer is not a CA", img: signAll(t, img, sig(notCALeaf, notCA)), store: store(keysOf(root), nil), reason: "not a CA"},
		{name: "issuer's keyUsage lacks certSign", img: signAll(t, img, sig(noSignLeaf, noSign)), store: store(keysOf(root), nil), reason: "keyUsage"},
		{name: "expired signer (dates are not checked)", img: signAll(t, img, sig(expired)), store: store(keysOf(expiredCA), nil), trusted: true},
	})
}

// TestUnderstoodOrRefused: an entry of the certificate table that cannot
// be checked denies the image, even next to a good signature.
func TestUnderstoodOrRefused(t *testing.T) {
	img := unsignedUKI("initrd")
	ca := ukitest.NewCert(t, ukitest.CertSpec{Name: "db CA", IsCA: true})
	leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer", Parent: ca})
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	good := ukitest.PKCS7(d, crypto.SHA256, leaf)
	withType := func(typ uint16, blobs ...[]byte) []byte {
		out := ukitest.AttachSignatures(img, blobs...)
		// The last entry's wCertificateType.
		off := len(out) - len(ukitest.WinCert(2, blobs[len(blobs)-1]))
		out[off+6], out[off+7] = byte(typ), byte(typ>>8)
		return out
	}
	sha1Sig := bytes.Replace(ukitest.PKCS7(d, crypto.SHA256, leaf), []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, []byte{0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x7f}, -1)
	checkVerdicts(t, []verdictCase{
		{name: "control", img: ukitest.AttachSignatures(img, good), store: store(keysOf(ca), nil), trusted: true},
		{name: "good, then an X.509 WIN_CERTIFICATE", img: withType(1, good, good), store: store(keysOf(ca), nil), reason: "not PKCS#7"},
		{name: "good, then garbage PKCS#7", img: ukitest.AttachSignatures(img, good, []byte{0x30, 0x03, 0x02, 0x01, 0x01}), store: store(keysOf(ca), nil), reason: "signature 2"},
		{name: "good, then an unknown digest algorithm", img: ukitest.AttachSignatures(img, good, sha1Sig), store: store(keysOf(ca), nil), reason: "signature 2"},
		{name: "nine signatures", img: ukitest.AttachSignatures(img, good, good, good, good, good, good, good, good, good), store: store(keysOf(ca), nil), reason: "at most 8"},
	})
}

// TestNoTrustStore: a good signature with an empty db names its signer
// and says that no trust store was given, instead of "does not chain".
func TestNoTrustStore(t *testing.T) {
	ca := ukitest.NewCert(t, ukitest.CertSpec{Name: "some CA", IsCA: true})
	leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "some signer", Parent: ca})
	v := verify(t, signAll(t, unsignedUKI("x"), sig(leaf)), authenticode.NewStore())
	if v.Status != authenticode.Untrusted || v.Signer != leaf.Cert.Subject.String() || !strings.Contains(v.Reason, "no trust store was given") {
		t.Errorf("verdict %+v", v)
	}
}
