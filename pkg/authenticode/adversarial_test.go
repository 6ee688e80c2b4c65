package authenticode_test

// Adversarial review of the verifier after issue 9. Every test here
// failed on the code it was written against: each one showed a case where
// ukiboot trusted what EDK2's logic (the emulation in
// differential_edk2_test.go, OpenSSL's PKCS7_verify as EDK2 calls it)
// refuses, refused what EDK2 accepts, did unbounded work, or panicked.
// They now hold the fixes.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// ---------------------------------------------------------------------
// helpers

var advSerial int64 = 900000

func advKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// advCert makes a certificate from tmpl for pub, signed by parent (or
// self-signed by priv when parent is nil; priv is then the new key).
func advCert(t *testing.T, tmpl *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer, parent *ukitest.Key) *x509.Certificate {
	t.Helper()
	advSerial++
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(advSerial)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	}
	parentCert, parentKey := tmpl, priv
	if parent != nil {
		parentCert, parentKey = parent.Cert, parent.Signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func advName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"ukiboot tests"}}
}

// advCA makes a CA below parent (self-signed when nil) with extra
// extensions.
func advCA(t *testing.T, cn string, parent *ukitest.Key, tweak func(*x509.Certificate)) *ukitest.Key {
	t.Helper()
	k := advKey(t)
	tmpl := &x509.Certificate{Subject: advName(cn), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	if tweak != nil {
		tweak(tmpl)
	}
	return &ukitest.Key{Signer: k, Cert: advCert(t, tmpl, k.Public(), k, parent)}
}

func advLeaf(t *testing.T, cn string, parent *ukitest.Key, tweak func(*x509.Certificate)) *ukitest.Key {
	t.Helper()
	k := advKey(t)
	tmpl := &x509.Certificate{Subject: advName(cn), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	if tweak != nil {
		tweak(tmpl)
	}
	return &ukitest.Key{Signer: k, Cert: advCert(t, tmpl, k.Public(), k, parent)}
}

func advImage(t *testing.T, sigs ...signature) []byte {
	t.Helper()
	return signAll(t, unsignedUKI("adversarial"), sigs...)
}

func certList(cs ...*x509.Certificate) [][]byte {
	var out [][]byte
	for _, c := range cs {
		out = append(out, c.Raw)
	}
	return out
}

// judge runs ukiboot and the EDK2 emulation on one image.
func judge(t *testing.T, img []byte, db, dbx trustList) (*authenticode.Verdict, bool, []string) {
	t.Helper()
	e := &edk2{openssl: ukitest.Need(t, "openssl"), dir: t.TempDir()}
	ok := e.verify(img, db, dbx)
	v := ukibootVerdict(t, diffCase{name: t.Name(), img: img, db: db, dbx: dbx}, t.TempDir())
	return v, ok, e.trace
}

// mustNotBeLooser fails when ukiboot trusts an image EDK2 refuses (the
// promise: boot nothing UEFI Secure Boot would refuse). It also checks
// that EDK2 does refuse, so the test shows a real disagreement.
func mustNotBeLooser(t *testing.T, img []byte, db, dbx trustList) {
	t.Helper()
	v, edk2OK, trace := judge(t, img, db, dbx)
	t.Logf("ukiboot: %s", v)
	t.Logf("EDK2: accepts=%v; %s", edk2OK, strings.Join(trace, " | "))
	if edk2OK {
		t.Fatalf("precondition: EDK2's logic was expected to refuse this image")
	}
	if v.Status == authenticode.Trusted {
		t.Errorf("LOOSER THAN EDK2: ukiboot trusts an image that EDK2 (OpenSSL PKCS7_verify) refuses")
	}
}

// mustNotBeStricter fails when ukiboot refuses an image EDK2 accepts.
func mustNotBeStricter(t *testing.T, img []byte, db, dbx trustList) {
	t.Helper()
	v, edk2OK, trace := judge(t, img, db, dbx)
	t.Logf("ukiboot: %s", v)
	t.Logf("EDK2: accepts=%v; %s", edk2OK, strings.Join(trace, " | "))
	if !edk2OK {
		t.Fatalf("precondition: EDK2's logic was expected to accept this image")
	}
	if v.Status != authenticode.Trusted {
		t.Errorf("FALSE REFUSAL: EDK2 boots this image, ukiboot refuses it: %s", v.Reason)
	}
}

// ---------------------------------------------------------------------
// Chains that OpenSSL (and so EDK2) refuses, ukiboot trusts.

var (
	oidNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidNetscapeCertType = asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 1, 1}
)

func rawTLV(class, tag int, compound bool, content ...[]byte) []byte {
	b, err := asn1.Marshal(asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: bytes.Join(content, nil)})
	if err != nil {
		panic(err)
	}
	return b
}

func rawSeq(content ...[]byte) []byte {
	return rawTLV(asn1.ClassUniversal, asn1.TagSequence, true, content...)
}

// TestAdversarialNameConstraints: OpenSSL enforces nameConstraints
// on every chain (check_name_constraints runs in every X509_verify_cert);
// ukiboot does not look at them. Go marks a critical nameConstraints with
// DNS/email/IP/URI subtrees as "handled", and a non-critical one of any
// type is never reported, so ukiboot's unknown-critical-extension rule
// does not catch it either.
func TestAdversarialNameConstraints(t *testing.T) {
	root := advCA(t, "NC root", nil, nil)
	t.Run("critical dNSName subtree, signer outside it", func(t *testing.T) {
		ca := advCA(t, "NC CA (dns)", root, func(c *x509.Certificate) {
			c.PermittedDNSDomainsCritical = true
			c.PermittedDNSDomains = []string{"good.example"}
		})
		leaf := advLeaf(t, "NC signer (dns)", ca, func(c *x509.Certificate) { c.DNSNames = []string{"evil.example"} })
		if len(ca.Cert.UnhandledCriticalExtensions) != 0 {
			t.Fatal("Go should treat this constraint as handled")
		}
		mustNotBeLooser(t, advImage(t, sig(leaf, ca)), trustList{certs: certList(root.Cert)}, trustList{})
	})
	t.Run("non-critical directoryName subtree, signer's subject outside it", func(t *testing.T) {
		permitted, err := asn1.Marshal(pkix.Name{Organization: []string{"Some Other Org"}}.ToRDNSequence())
		if err != nil {
			t.Fatal(err)
		}
		nc := rawSeq(rawTLV(asn1.ClassContextSpecific, 0, true, rawSeq(rawTLV(asn1.ClassContextSpecific, 4, true, permitted))))
		ca := advCA(t, "NC CA (dirname)", root, func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: oidNameConstraints, Value: nc}}
		})
		leaf := advLeaf(t, "NC signer (dirname)", ca, nil)
		mustNotBeLooser(t, advImage(t, sig(leaf, ca)), trustList{certs: certList(root.Cert)}, trustList{})
	})
}

// TestAdversarialEmptyKeyUsageCA: a keyUsage extension with no bit set is
// parsed by Go as KeyUsage == 0, which checkPath reads as "no keyUsage";
// OpenSSL sees a keyUsage without keyCertSign and refuses the CA.
func TestAdversarialEmptyKeyUsageCA(t *testing.T) {
	root := advCA(t, "KU root", nil, nil)
	emptyKU := []pkix.Extension{{Id: oidKeyUsage, Critical: true, Value: []byte{0x03, 0x01, 0x00}}}
	t.Run("intermediate", func(t *testing.T) {
		ca := advCA(t, "empty-KU intermediate", root, func(c *x509.Certificate) {
			c.KeyUsage = 0
			c.ExtraExtensions = emptyKU
		})
		leaf := advLeaf(t, "signer below empty-KU intermediate", ca, nil)
		mustNotBeLooser(t, advImage(t, sig(leaf, ca)), trustList{certs: certList(root.Cert)}, trustList{})
	})
	t.Run("db anchor", func(t *testing.T) {
		anchor := advCA(t, "empty-KU anchor", nil, func(c *x509.Certificate) {
			c.KeyUsage = 0
			c.ExtraExtensions = emptyKU
		})
		leaf := advLeaf(t, "signer below empty-KU anchor", anchor, nil)
		mustNotBeLooser(t, advImage(t, sig(leaf)), trustList{certs: certList(anchor.Cert)}, trustList{})
	})
}

// TestAdversarialAKIDMismatch: OpenSSL's X509_check_issued refuses an
// issuer whose subjectKeyIdentifier differs from the child's
// authorityKeyIdentifier; ukiboot chains by name and key only. Here the db
// holds a renewal of the CA (same name and key, new SKID) and the signer's
// AKID names the old one.
func TestAdversarialAKIDMismatch(t *testing.T) {
	k := advKey(t)
	orig := &ukitest.Key{Signer: k, Cert: advCert(t, &x509.Certificate{Subject: advName("AKID CA"), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: []byte{1, 1, 1, 1}}, k.Public(), k, nil)}
	renewed := advCert(t, &x509.Certificate{Subject: advName("AKID CA"), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: []byte{2, 2, 2, 2}}, k.Public(), k, nil)
	leaf := advLeaf(t, "AKID signer", orig, nil)
	mustNotBeLooser(t, advImage(t, sig(leaf)), trustList{certs: certList(renewed)}, trustList{})
}

// ---------------------------------------------------------------------
// Revocation that EDK2 applies and ukiboot misses.

// utf8Name encodes name's attributes as UTF8String (Go writes
// PrintableString): the same name for OpenSSL's X509_NAME_cmp, which
// compares canonical encodings, other bytes for ukiboot's issues().
func utf8Name(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	var rdns [][]byte
	for _, rdn := range n.ToRDNSequence() {
		var atvs [][]byte
		for _, atv := range rdn {
			oid, err := asn1.Marshal(atv.Type)
			if err != nil {
				t.Fatal(err)
			}
			atvs = append(atvs, rawSeq(oid, rawTLV(asn1.ClassUniversal, asn1.TagUTF8String, false, []byte(atv.Value.(string)))))
		}
		rdns = append(rdns, rawTLV(asn1.ClassUniversal, asn1.TagSet, true, atvs...))
	}
	return rawSeq(rdns...)
}

// TestAdversarialDbxIssuerNameEncoding: dbx holds root R; the db anchor is
// an intermediate X that R issued, whose issuer field encodes R's name as
// UTF8String (R's subject is PrintableString: common for CAs that rebuild
// the issuer from configuration). EDK2 chains X to R (canonical name
// match, AKID, signature) and forbids the image; ukiboot's revokedCert
// compares raw bytes, never sees R as X's issuer, and boots it. The key of
// R is never compared because R is not on the path.
func TestAdversarialDbxIssuerNameEncoding(t *testing.T) {
	root := advCA(t, "Encoding Root", nil, nil)
	alias := *root.Cert
	alias.RawSubject = utf8Name(t, root.Cert.Subject)
	if bytes.Equal(alias.RawSubject, root.Cert.RawSubject) {
		t.Fatal("the UTF8String name should differ in bytes")
	}
	inter := advCA(t, "Encoding Intermediate", &ukitest.Key{Signer: root.Signer, Cert: &alias}, nil)
	leaf := advLeaf(t, "Encoding signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	t.Run("dbx root, db intermediate: revoked for EDK2", func(t *testing.T) {
		mustNotBeLooser(t, img, trustList{certs: certList(inter.Cert)}, trustList{certs: certList(root.Cert)})
	})
	t.Run("db root: a valid chain for OpenSSL", func(t *testing.T) {
		mustNotBeStricter(t, img, trustList{certs: certList(root.Cert)}, trustList{})
	})
}

// resign replaces the signature algorithm of c (inner and outer) by
// algID and signs its TBSCertificate again with sign.
func resign(t *testing.T, c *x509.Certificate, algID []byte, sign func(tbs []byte) []byte) *x509.Certificate {
	t.Helper()
	var tbs asn1.RawValue
	if _, err := asn1.Unmarshal(c.RawTBSCertificate, &tbs); err != nil {
		t.Fatal(err)
	}
	var fields [][]byte
	for rest := tbs.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		fields = append(fields, f.FullBytes)
	}
	fields[2] = algID // [0] version, serialNumber, signature
	newTBS := rawSeq(fields...)
	sig := sign(newTBS)
	bits, err := asn1.Marshal(asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(rawSeq(newTBS, algID, bits))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func oidBytes(o asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(o)
	if err != nil {
		panic(err)
	}
	return b
}

// TestAdversarialDbxIssuerAlgorithmGap: revocation by chaining asks Go's
// CheckSignature whether the dbx certificate issued a certificate. Where
// Go cannot verify a signature OpenSSL verifies (RSASSA-PSS with a salt
// other than the hash length, as `openssl x509 -sigopt
// rsa_pss_saltlen:20` or Windows CAs produce; also RSA keys under 1024
// bits, MD5, DSA), the revoked issuer goes unseen. dbx holds root R, db
// the intermediate X that R signed with RSASSA-PSS (SHA-256, salt 20).
// EDK2 forbids the image (R verifies X); ukiboot boots it. The other way,
// R in db is a valid anchor for OpenSSL and no anchor for ukiboot.
func TestAdversarialDbxIssuerAlgorithmGap(t *testing.T) {
	root := ukitest.NewCert(t, ukitest.CertSpec{Name: "PSS root", RSA: true, IsCA: true})
	inter := advCA(t, "PSS intermediate", root, nil)
	sha256Alg := rawSeq(oidBytes(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}), []byte{0x05, 0x00})
	pss := rawSeq(oidBytes(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}), rawSeq(
		rawTLV(asn1.ClassContextSpecific, 0, true, sha256Alg),
		rawTLV(asn1.ClassContextSpecific, 1, true, rawSeq(oidBytes(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}), sha256Alg)),
		rawTLV(asn1.ClassContextSpecific, 2, true, []byte{0x02, 0x01, 20}),
	))
	inter.Cert = resign(t, inter.Cert, pss, func(tbs []byte) []byte {
		sum := sha256.Sum256(tbs)
		sig, err := rsa.SignPSS(rand.Reader, root.Signer.(*rsa.PrivateKey), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: 20})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
	if inter.Cert.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
		t.Fatalf("Go knows %v", inter.Cert.SignatureAlgorithm)
	}
	leaf := advLeaf(t, "PSS signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	t.Run("dbx root, db intermediate: revoked for EDK2", func(t *testing.T) {
		mustNotBeLooser(t, img, trustList{certs: certList(inter.Cert)}, trustList{certs: certList(root.Cert)})
	})
	t.Run("db root: a valid chain for OpenSSL", func(t *testing.T) {
		mustNotBeStricter(t, img, trustList{certs: certList(root.Cert)}, trustList{})
	})
}

// TestAdversarialSHA1CertificateChain: old CA certificates are often
// signed with sha1WithRSAEncryption; OpenSSL (auth level -1 under
// PKCS7_verify) accepts them, and so must ukiboot. (Control: Go's
// Certificate.CheckSignature still allows SHA-1; this passes today and
// guards against a switch to CheckSignatureFrom.)
func TestAdversarialSHA1CertificateChain(t *testing.T) {
	root := ukitest.NewCert(t, ukitest.CertSpec{Name: "SHA-1 root", RSA: true, IsCA: true})
	inter := advCA(t, "SHA-1 intermediate", root, nil)
	inter.Cert = resign(t, inter.Cert, rawSeq(oidBytes(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}), []byte{0x05, 0x00}), func(tbs []byte) []byte {
		sum := sha1.Sum(tbs)
		sig, err := rsa.SignPKCS1v15(rand.Reader, root.Signer.(*rsa.PrivateKey), crypto.SHA1, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	})
	leaf := advLeaf(t, "signer below SHA-1 intermediate", inter, nil)
	mustNotBeStricter(t, advImage(t, sig(leaf, inter)), trustList{certs: certList(root.Cert)}, trustList{})
}

// TestAdversarialCertTablePadding: EDK2 refuses an image whose
// certificate table goes on after its last (8-byte aligned) entry
// ("OffSet != SecDataDirEnd": the table size is corrupted); ukiboot skips
// trailing zeros. Harmless (zeros carry no signature), but a disagreement
// the README's table should list.
func TestAdversarialCertTablePadding(t *testing.T) {
	ca := advCA(t, "padding CA", nil, nil)
	leaf := advLeaf(t, "padding signer", ca, nil)
	img := advImage(t, sig(leaf))
	l := parse(t, img).Header.CertTable()
	img = append(img, make([]byte, 16)...)
	certDir := int(img[0x3c]) | int(img[0x3d])<<8
	certDir += 24 + 112 + 32
	size := l.Size + 16
	img[certDir+4], img[certDir+5], img[certDir+6], img[certDir+7] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
	mustNotBeLooser(t, img, trustList{certs: certList(ca.Cert)}, trustList{})
}

// TestAdversarialDbxTBSHashOfDBRootOrder: EDK2's IsAllowedByDb lets the
// first db certificate that verifies decide; when its TBS hash is in dbx
// the image is denied. ukiboot instead searches every path, and a second
// db entry below the revoked root (an intermediate that the db also lists)
// still allows the image.
func TestAdversarialDbxTBSHashOfDBRootOrder(t *testing.T) {
	root := advCA(t, "TBS root", nil, nil)
	inter := advCA(t, "TBS intermediate", root, nil)
	leaf := advLeaf(t, "TBS signer", inter, nil)
	img := advImage(t, sig(leaf, inter))
	mustNotBeLooser(t, img,
		trustList{certs: certList(root.Cert, inter.Cert)},
		trustList{tbs: []digestEntry{tbsDigest(root.Cert, crypto.SHA256)}})
}

// ---------------------------------------------------------------------
// False refusals.

// TestAdversarialCriticalNetscapeCertType: OpenSSL supports
// nsCertType (2.16.840.1.113730.1.1) as a critical extension; Go does not,
// so ukiboot refuses every chain through such a CA. Real example: the
// "Debian Secure Boot CA" (shim's vendor certificate, and so in
// MokListRT) carries a critical nsCertType (see TestAdversarialDebianSigned).
func TestAdversarialCriticalNetscapeCertType(t *testing.T) {
	anchor := advCA(t, "nsCertType root", nil, func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{{Id: oidNetscapeCertType, Critical: true, Value: []byte{0x03, 0x02, 0x00, 0xf7}}}
	})
	leaf := advLeaf(t, "signer below nsCertType root", anchor, nil)
	mustNotBeStricter(t, advImage(t, sig(leaf)), trustList{certs: certList(anchor.Cert)}, trustList{})
}

// TestAdversarialV3AnchorWithoutBasicConstraints: OpenSSL's check_ca
// accepts, as the trust anchor (top of the chain), a v3 certificate
// without basicConstraints whose keyUsage allows keyCertSign; ukiboot
// demands cA=TRUE from every issuing certificate, the anchor included.
func TestAdversarialV3AnchorWithoutBasicConstraints(t *testing.T) {
	anchor := advCA(t, "no-BC anchor", nil, func(c *x509.Certificate) {
		c.BasicConstraintsValid, c.IsCA = false, false
	})
	if anchor.Cert.BasicConstraintsValid {
		t.Fatal("the anchor should have no basicConstraints")
	}
	leaf := advLeaf(t, "signer below no-BC anchor", anchor, nil)
	mustNotBeStricter(t, advImage(t, sig(leaf)), trustList{certs: certList(anchor.Cert)}, trustList{})
}

// Debian's real signatures: fwupdx64.efi.signed from Debian bookworm's
// fwupd-amd64-signed (the WIN_CERTIFICATE's PKCS#7, signed by "Debian
// Secure Boot Signer 2022 - fwupd"), and the "Debian Secure Boot CA" that
// shim-signed carries in .vendor_cert (and mirrors into MokListRT).
const (
	debianFwupdPKCS7 = "MIIFtAYJKoZIhvcNAQcCoIIFpTCCBaECAQExDzANBglghkgBZQMEAgEFADBcBgorBgEEAYI3AgEEoE4wTDAXBgorBgEEAYI3AgEV" +
		"MAkDAQCgBKICgAAwMTANBglghkgBZQMEAgEFAAQgVFY9un/nBvq3YxaHcWN+Avgr93bkf8Fslrh/Ps2xGVigggNHMIIDQzCCAiug" +
		"AwIBAgIUMqAof4QaA2+jk8HgZcQ65rJCJkEwDQYJKoZIhvcNAQELBQAwIDEeMBwGA1UEAxMVRGViaWFuIFNlY3VyZSBCb290IENB" +
		"MB4XDTIyMDgxODE3MzIzMVoXDTMyMDgxNTE3MzIzMVowMTEvMC0GA1UEAwwmRGViaWFuIFNlY3VyZSBCb290IFNpZ25lciAyMDIy" +
		"IC0gZnd1cGQwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQC4Gd7uCyHq4vxcHT6ZSdsvTamOrVEFRfc+zYHYgAzXUiAW" +
		"xOzzEYdH4PgePHWQIakZi/LTE5J+D/2qTKXeloTc+VEFImu1oIFRfFV6Nw2vM8xPY80D7rjRa5prEZuzVwIhY8LfJk+8mSMdjrwU" +
		"NbbUXxA3q92sWX3mUQkzUohf53Gxes32b7YgIa2126f4gdWCbpdjH/lFmxOScqVSxhyb0bE8gZLKSnhYge+X9GmsCRA1IR8J1WCl" +
		"QVeZafX7SOqxiwoHdP1gWboto8vIkRzWdBgiPdrtKFGCBLoZD+RGJ8NahpKKvGVDtDFoeIpF0NmmJUA7AiMMrOUxcF25p0nVAgMB" +
		"AAGjZDBiMAsGA1UdDwQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDAzAdBgNVHQ4EFgQUq5ZJ//5KzZ1yJ8oTv+JwvQUJfK0wHwYD" +
		"VR0jBBgwFoAUbM7OfkxsDR9hSfPdJ9/MXLtBnqEwDQYJKoZIhvcNAQELBQADggEBAAczx0dfzsbohE2dhyKigdgtMZ14wdPUJ8S1" +
		"f1DrnTMBnBQjQGIZdiOy37YYgyK0cVeciCafiSJ8b64rnEmJyrl1Hqn9oXQ57jbMqwr0nwR9LOljgzLT3ICIOxuJxQVlLK3y7fPt" +
		"zn5eWSqywx9aRlfWtJLAQjcuxrpUumXAwgeu3GJnqp49AfYln018LXBVYfegKMsuG1mwTe3jPVPpcdeuREVW2W4PrUQq6+KSyC8j" +
		"vPMlJXs0eopQZzpV3mVhgRVTgEFHU67wrIFTctD73K69qHQlDALWi5B9MWoFaJZnDqkPQ5t/d9M5Q6L03QO4GXWFJfRyG6frcFDA" +
		"iGwHwDcxggHgMIIB3AIBATA4MCAxHjAcBgNVBAMTFURlYmlhbiBTZWN1cmUgQm9vdCBDQQIUMqAof4QaA2+jk8HgZcQ65rJCJkEw" +
		"DQYJYIZIAWUDBAIBBQCgezAPBgkqhkiG9w0BCQ8xAjAAMBkGCSqGSIb3DQEJAzEMBgorBgEEAYI3AgEEMBwGCSqGSIb3DQEJBTEP" +
		"Fw0yMzAxMjkxNzQwMjlaMC8GCSqGSIb3DQEJBDEiBCD3uMrXoqgfCVL8vZrMPZL/tIw6KRtrxgMiOm7bALiWLzANBgkqhkiG9w0B" +
		"AQEFAASCAQCGogGd+3tqiLPYd2IkGweTI+f1tcMC24XRUD3OLF7AuRKaqUtiuvzo66eXBCVG3YoxKRx4dhLdsCOnB3aH9fTLJlei" +
		"Tjv5CfJXc2e+vgWW5tMtW3pLRER//6VWlyia5yoSrua306QUIIhyxgI7gs/br/HlN5lvLqxk8WkoJvuNdUzcuEOmbrUfRjySlWE9" +
		"owiZj1YjGgaL3GVlwickCXEXhEz0jO1thbqTfGT5vwvJ37ydaK1htjkSeo0GAHT/jVuHcas6nbJqQaSpOC8C+muliIFM7pY+sSyF" +
		"MbME5rwFRT4ERdvdC8uTInD47iXWTjnpfZcDmmwwQwssigpRZqZA"
	debianSecureBootCA = "MIIDnjCCAoagAwIBAgIRAO1UodWvh0iUjZ+JMu6cfDQwDQYJKoZIhvcNAQELBQAwIDEeMBwGA1UEAxMVRGViaWFuIFNlY3VyZSBC" +
		"b290IENBMB4XDTE2MDgxNjE4MDkxOFoXDTQ2MDgwOTE4MDkxOFowIDEeMBwGA1UEAxMVRGViaWFuIFNlY3VyZSBCb290IENBMIIB" +
		"IjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnZXUi5vaEKwuyoI3waTLSsMbQpPCeinTbt1kr4Cv6maiG2GcgwzFa7k1Jf/F" +
		"++gpQ97OSz3GEk2x7yZDlWjNBBH+wiSb3hTYhlHoOEO9sZoV5Qhr+FRQi7NLX/wU5DVQfAux4gOEqDZI5IDo6p/6v8UYe17OHL4s" +
		"gHhJNRXAIc/vZtWKlggrZi9IF7Hn7IKPB+bK4F9xJDlQCo7RcihQpZ0h9ONhugkDZsjfTiY2CxUPYx8rr6vEKKJWZIWNplVBrjyI" +
		"ld3Qbdkp29jEaLX89FeJaxTb4O/uQA1iH+pY1KPYugOmly7FaxOkkXemta0jp+sKSRRGfHbpnjK0ia9XeQIDAQABo4HSMIHPMEEG" +
		"CCsGAQUFBwEBBDUwMzAxBggrBgEFBQcwAoYlaHR0cHM6Ly9kc2EuZGViaWFuLm9yZy9zZWN1cmUtYm9vdC1jYTAfBgNVHSMEGDAW" +
		"gBRszs5+TGwNH2FJ890n38xcu0GeoTAUBglghkgBhvhCAQEBAf8EBAMCAPcwEwYDVR0lBAwwCgYIKwYBBQUHAwMwDgYDVR0PAQH/" +
		"BAQDAgGGMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFGzOzn5MbA0fYUnz3SffzFy7QZ6hMA0GCSqGSIb3DQEBCwUAA4IBAQB3" +
		"lj5Hyc4Jz4uJzlntJg4mC7mtqSu9oeuIeQL/Md7+9WoH72ETEXAev5xOZmzhYhKXAVdlR91Kxvf03qjxE2LMg1esPKaRFa9VJnJp" +
		"LhTN3U2z0WAkLTJPGWwRXvKj8qFfYg8wrq3xSGZkfTZEDQY0PS6vjp3DrcKR2Dfg7npfgjtnjgCKxKTfNRbCcitMUdeTk566CA1Z" +
		"l/LiKaBETeru+D4CYMoVz06aJZGEP7dax+68a4Cj2f2ybXoeYxTr7/GwQCXV6A6B62v3y//lIQAiLC6aNWASS1tfOEaEDAacz3KT" +
		"YhjuXJjWs30GJTmV305gdrAGewiwbuNknyFWrTkP"
)

// TestAdversarialDebianSigned: a real Debian-signed EFI binary, with the
// Debian Secure Boot CA as db anchor, is refused by ukiboot because the
// CA has a critical nsCertType (which OpenSSL/EDK2 and shim accept). The
// image digest is the one the signature carries (it matched the real file
// when this test was written).
func TestAdversarialDebianSigned(t *testing.T) {
	ca := realDebianCA(t)
	p7, err := base64.StdEncoding.DecodeString(debianFwupdPKCS7)
	if err != nil {
		t.Fatal(err)
	}
	s, err := authenticode.ParseSignature(p7)
	if err != nil {
		t.Fatalf("Debian's real signature does not parse: %v", err)
	}
	if err := s.CheckSignature(); err != nil {
		t.Fatalf("Debian's real signature does not verify: %v", err)
	}
	img := ukitest.AttachSignatures(unsignedUKI("debian"), p7)
	f := parse(t, img)
	st := authenticode.NewStore()
	st.DB.Certs = append(st.DB.Certs, ca)
	v := authenticode.Verify(f, map[crypto.Hash][]byte{s.DigestAlgorithm: s.ImageDigest}, st)
	t.Logf("%s", v)
	if v.Status != authenticode.Trusted {
		t.Errorf("FALSE REFUSAL: a Debian-signed binary with the Debian Secure Boot CA in db: %s", v.Reason)
	}
}

// realDebianCA returns the embedded Debian Secure Boot CA.
func realDebianCA(t *testing.T) *x509.Certificate {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(debianSecureBootCA)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.UnhandledCriticalExtensions) == 0 {
		t.Fatal("expected the CA's critical nsCertType to be unhandled by Go")
	}
	return c
}

// TestAdversarialRealMicrosoftShim: the Microsoft-signed shim (two
// signatures: UEFI CA 2011 and UEFI CA 2023) must be trusted with either
// CA in db. `make unit` downloads Debian's shim-signed and names its
// shimx64.efi.signed in UKIBOOT_SHIM.
func TestAdversarialRealMicrosoftShim(t *testing.T) {
	path := os.Getenv("UKIBOOT_SHIM")
	if path == "" {
		path = "/usr/lib/shim/shimx64.efi.signed"
	}
	img, err := os.ReadFile(ukitest.Need(t, path))
	if err != nil {
		t.Fatal(err)
	}
	le := func(o int) int { return int(img[o]) | int(img[o+1])<<8 | int(img[o+2])<<16 | int(img[o+3])<<24 }
	certDir := le(0x3c) + 24 + 112 + 32
	va, size := le(certDir), le(certDir+4)
	entries, err := uki.ParseCertificateTable(img[va:va+size], int64(va))
	if err != nil {
		t.Fatal(err)
	}
	digest := ukitest.SpecDigest(img, crypto.SHA256)
	var blobs [][]byte
	var cas []*x509.Certificate
	for _, e := range entries {
		s, err := authenticode.ParseSignature(e.Data)
		if err != nil {
			t.Fatalf("FALSE REFUSAL: Microsoft's signature does not parse: %v", err)
		}
		if !bytes.Equal(s.ImageDigest, digest) {
			t.Fatal("the signature is not this file's")
		}
		blobs = append(blobs, e.Data)
		for _, c := range s.Certificates {
			if c.IsCA {
				cas = append(cas, c)
			}
		}
	}
	fake := parse(t, ukitest.AttachSignatures(unsignedUKI("shim"), blobs...))
	for _, ca := range cas {
		st := authenticode.NewStore()
		st.DB.Certs = append(st.DB.Certs, ca)
		v := authenticode.Verify(fake, map[crypto.Hash][]byte{crypto.SHA256: digest}, st)
		t.Logf("db %s: %s", ca.Subject.CommonName, v)
		if v.Status != authenticode.Trusted {
			t.Errorf("FALSE REFUSAL with db %s: %s", ca.Subject.CommonName, v.Reason)
		}
	}
}

// ---------------------------------------------------------------------
// Work that the budget does not count.

func timeVerify(t *testing.T, img []byte, st *authenticode.Store) (time.Duration, *authenticode.Verdict) {
	t.Helper()
	f := parse(t, img)
	start := time.Now()
	v := authenticode.VerifyFile(f, bytes.NewReader(img), st)
	return time.Since(start), v
}

// TestAdversarialChainPathExplosion: chainToDB's depth-first search
// remembers (child, parent) pairs, so the signature checks stay under
// MaxSignatureChecks, but it enumerates every simple path up to
// maxChainDepth with no bound. Ten certificates with one name and one key
// (made by the attacker, no trusted key needed) give 9+72 checked pairs
// and 260,000 paths per signature; eight signatures carrying the same ten
// walk them eight times (and format an error string at every dead end).
func TestAdversarialChainPathExplosion(t *testing.T) {
	k := advKey(t)
	name := advName("loop")
	var ks []*ukitest.Key
	for i := 0; i < 10; i++ {
		c := advCert(t, &x509.Certificate{Subject: name, BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, k.Public(), k, nil)
		ks = append(ks, &ukitest.Key{Signer: k, Cert: c})
	}
	img := unsignedUKI("paths")
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var extra []*x509.Certificate
	for _, x := range ks[1:] {
		extra = append(extra, x.Cert)
	}
	var blobs [][]byte
	for i := 0; i < authenticode.MaxSignatures; i++ {
		blobs = append(blobs, ukitest.PKCS7(d, crypto.SHA256, ks[0], extra...))
	}
	signed := ukitest.AttachSignatures(img, blobs...)
	unrelated := advCA(t, "some db CA", nil, nil)
	el, v := timeVerify(t, signed, storeWith(unrelated))
	t.Logf("%v: %s", el, truncate(v.String(), 300))
	if v.Status == authenticode.Trusted {
		t.Fatal("trusted?")
	}
	// Fewer than 100 P-256 checks take a few milliseconds.
	if el > 300*time.Millisecond {
		t.Errorf("DoS: %v of CPU for an attacker-made image within MaxSignatureChecks (path enumeration is not bounded)", el)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// bigRSA is a crypto.Signer with an attacker-chosen public key and no
// private key: its "signature" is any number below N, since verifying it
// costs the full modular exponentiation whether it matches or not.
type bigRSA struct{ pub *rsa.PublicKey }

func (b bigRSA) Public() crypto.PublicKey { return b.pub }
func (b bigRSA) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	sig := make([]byte, (b.pub.N.BitLen()+7)/8)
	sig[1] = 1
	return sig, nil
}

// TestAdversarialHugeRSAKey: the budget counts checks, not their cost.
// Go's crypto/rsa and crypto/x509 put no upper bound on the modulus, and
// RSA verification is quadratic in it: one signer certificate with a
// 256-Kbit modulus (32 KiB) and e = 2^31-1 costs seconds for a single
// counted check; a 2-Mbit one fits in the 1 MiB certificate table and
// costs minutes. No trusted key is needed: the signer's signature over
// the attributes is checked before any trust decision.
func TestAdversarialHugeRSAKey(t *testing.T) {
	bits := 262144
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1)
	n.SetBit(n, 0, 1)
	pub := &rsa.PublicKey{N: n, E: 1<<31 - 1}
	issuer := advCA(t, "huge-key issuer", nil, nil)
	cert := advCert(t, &x509.Certificate{Subject: advName("huge-key signer"), KeyUsage: x509.KeyUsageDigitalSignature}, pub, nil, issuer)
	signer := &ukitest.Key{Signer: bigRSA{pub}, Cert: cert}
	img := unsignedUKI("huge")
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	signed := ukitest.AttachSignatures(img, ukitest.PKCS7(d, crypto.SHA256, signer))
	el, v := timeVerify(t, signed, storeWith(issuer))
	t.Logf("%d-bit signer key: %v: %s", bits, el, v)
	if el > time.Second {
		t.Errorf("DoS: one signature check took %v (no bound on RSA key size; the budget counts checks, not their cost)", el)
	}
}

// ---------------------------------------------------------------------
// Panics.

// TestAdversarialDERLength32Bit: parseTLV reads up to four length bytes
// into an int; on a 32-bit build (GOARCH=386 or arm, LinuxBoot on
// 32-bit boards) 0x84 ff ff ff f0 becomes -16, passes the "n > left"
// check and slices b[i:i-10]: a panic on hostile input. Run with
// GOARCH=386 to see it; on 64-bit builds the test passes.
func TestAdversarialDERLength32Bit(t *testing.T) {
	digest := make([]byte, 32)
	oid := func(o asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(o); return b }
	integer := func(i int) []byte { b, _ := asn1.Marshal(i); return b }
	octets := func(b []byte) []byte { x, _ := asn1.Marshal(b); return x }
	sha256OID := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	spc := rawSeq(rawSeq(oid(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15})), rawSeq(rawSeq(oid(sha256OID)), octets(digest)))
	certs := rawTLV(asn1.ClassContextSpecific, 0, true, []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0})
	sd := rawSeq(integer(1), rawTLV(asn1.ClassUniversal, asn1.TagSet, true),
		rawSeq(oid(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}), rawTLV(asn1.ClassContextSpecific, 0, true, spc)),
		certs, rawTLV(asn1.ClassUniversal, asn1.TagSet, true))
	p7 := rawSeq(oid(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}), rawTLV(asn1.ClassContextSpecific, 0, true, sd))
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("PANIC on hostile input: %v", r)
		}
	}()
	_, err := authenticode.ParseSignature(p7)
	t.Logf("ParseSignature: %v", err)
	if err == nil {
		t.Error("accepted")
	}
}
