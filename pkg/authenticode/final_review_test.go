package authenticode_test

// Final adversarial review: name canonicalisation (names.go) against
// OpenSSL's X509_NAME_cmp.

import (
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

func frATV(oid asn1.ObjectIdentifier, tag int, v string) []byte {
	return rawSeq(oidBytes(oid), rawTLV(asn1.ClassUniversal, tag, false, []byte(v)))
}

func frSet(atvs ...[]byte) []byte { return rawTLV(asn1.ClassUniversal, asn1.TagSet, true, atvs...) }

var (
	frCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	frO  = asn1.ObjectIdentifier{2, 5, 4, 10}
)

// TestFinalReviewMultiValuedRDNOrder: OpenSSL's canonical name encoding
// (x509_name_canon) re-encodes each RDN as a DER SET OF, which sorts its
// attributes, so "CN=x+O=y" and "O=y+CN=x" are the same name to
// X509_NAME_cmp. canonicalName keeps the attributes in encoded order. dbx
// holds root R (subject O+CN), db the intermediate X that R's key signed
// with issuer CN+O. EDK2 chains X to R and forbids the image; ukiboot's
// revocation by chaining never sees R as X's issuer and boots it. (Only
// certificates a signature carries are held to canonical DER; dbx's R,
// read from an ESL, may list its RDN's attributes in any order.)
func TestFinalReviewMultiValuedRDNOrder(t *testing.T) {
	cn, o := frATV(frCN, asn1.TagUTF8String, "MV Root"), frATV(frO, asn1.TagUTF8String, "ukiboot tests")
	// R's subject (in dbx, never DER-checked) lists O before CN; DER
	// order, which X's issuer uses, is CN first.
	root := advCA(t, "unused", nil, func(c *x509.Certificate) { c.RawSubject = rawSeq(frSet(o, cn)) })
	alias := *root.Cert
	alias.RawSubject = rawSeq(frSet(cn, o))
	inter := advCA(t, "MV Intermediate", &ukitest.Key{Signer: root.Signer, Cert: &alias}, nil)
	leaf := advLeaf(t, "MV signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	mustNotBeLooser(t, img, trustList{certs: certList(inter.Cert)}, trustList{certs: certList(root.Cert)})
}

// TestFinalReviewCanonicalNameInjection: canonicalName writes attribute
// values unescaped between ';' separators, so one attribute whose value
// spells out a separator and a second attribute collides with a
// multi-valued RDN: CN="a;2.5.4.10=s:b" canonicalises exactly as
// CN=a+O=b. OpenSSL sees two different names. db holds R (CN=a+O=b); R's
// key signed X with issuer CN="a;2.5.4.10=s:b". EDK2 finds no issuer for
// X and refuses; ukiboot chains X to R and boots.
func TestFinalReviewCanonicalNameInjection(t *testing.T) {
	root := advCA(t, "unused", nil, func(c *x509.Certificate) {
		c.RawSubject = rawSeq(frSet(frATV(frCN, asn1.TagUTF8String, "a"), frATV(frO, asn1.TagUTF8String, "b")))
	})
	alias := *root.Cert
	alias.RawSubject = rawSeq(frSet(frATV(frCN, asn1.TagUTF8String, "a;2.5.4.10=s:b")))
	inter := advCA(t, "Injected Intermediate", &ukitest.Key{Signer: root.Signer, Cert: &alias}, nil)
	leaf := advLeaf(t, "Injected signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	mustNotBeLooser(t, img, trustList{certs: certList(root.Cert)}, trustList{})
}

// TestFinalReviewEmptyRDN: an RDN that is an empty SET holds no
// attribute; OpenSSL's decoder keeps no trace of it, so its canonical
// form (and X509_NAME_cmp) equals that of the name without it.
// canonicalName writes "[]" for it. dbx holds root R whose subject has
// an empty RDN between CN and O; X's issuer is the same name without it.
// EDK2 forbids; ukiboot boots.
func TestFinalReviewEmptyRDN(t *testing.T) {
	cn, o := frATV(frCN, asn1.TagUTF8String, "Empty RDN Root"), frATV(frO, asn1.TagUTF8String, "ukiboot tests")
	root := advCA(t, "unused", nil, func(c *x509.Certificate) { c.RawSubject = rawSeq(frSet(cn), frSet(), frSet(o)) })
	alias := *root.Cert
	alias.RawSubject = rawSeq(frSet(cn), frSet(o))
	inter := advCA(t, "Empty RDN Intermediate", &ukitest.Key{Signer: root.Signer, Cert: &alias}, nil)
	leaf := advLeaf(t, "Empty RDN signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	mustNotBeLooser(t, img, trustList{certs: certList(inter.Cert)}, trustList{certs: certList(root.Cert)})
}
