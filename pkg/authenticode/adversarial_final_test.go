package authenticode_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// TestAdversarialFinalSignerInfoAlgorithmOID: a SignerInfo's
// digestEncryptionAlgorithm is outside what the signer signed, and
// OpenSSL's PKCS7_signatureVerify (so EDK2) does not look at it: an RSA
// signature whose OID is rewritten to sha1WithRSAEncryption still
// verifies there. The image carries that signature by a dbx-revoked
// signer, then a good one. EDK2 checks the first against dbx and refuses
// the image; ukiboot called the first "not valid" (its OID does not fit
// the RSA key), never checked it against dbx, and booted on the second.
// A signature ukiboot cannot check must refuse the image, as README
// promises for every entry of the certificate table.
func TestAdversarialFinalSignerInfoAlgorithmOID(t *testing.T) {
	ca := ukitest.NewCA(t, "OID CA", false)
	good := ukitest.NewLeaf(t, "OID good signer", false, ca)
	revoked := ukitest.NewLeaf(t, "OID revoked signer", false, ca)
	img := unsignedUKI("oid")
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	p7 := bytes.Clone(ukitest.PKCS7(d, crypto.SHA256, revoked))
	// The SignerInfo comes after the certificates: the last RSA OID
	// (rsaEncryption or sha256WithRSAEncryption) is its
	// digestEncryptionAlgorithm.
	rsaOID := []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01}
	i := bytes.LastIndex(p7, rsaOID)
	if i < 0 || (p7[i+8] != 0x01 && p7[i+8] != 0x0b) {
		t.Fatal("no RSA signature OID in the SignerInfo")
	}
	p7[i+8] = 0x05 // sha1WithRSAEncryption
	signed := ukitest.AttachSignatures(img, p7, ukitest.PKCS7(d, crypto.SHA256, good))
	mustNotBeLooser(t, signed, trustList{certs: certList(ca.Cert)}, trustList{certs: certList(revoked.Cert)})
}

// TestAdversarialFinalSignerLookup: a SignerInfo's issuerAndSerial is not
// signed either. OpenSSL finds the signer as the first certificate whose
// serial matches and whose issuer name X509_NAME_cmp finds equal (case and
// string type folded). The revoked signer R is carried first, then a decoy
// RSA certificate with R's serial whose issuer is R's issuer with one
// letter in lower case; the SignerInfo is rewritten to name that issuer.
// EDK2 picks R, whose signature verifies, and refuses the image on dbx;
// ukiboot matched issuer bytes exactly, picked the decoy, called the
// signature invalid, skipped dbx and trusted the image on a second, good
// signature.
func TestAdversarialFinalSignerLookup(t *testing.T) {
	ca := ukitest.NewCA(t, "Case CA", false)
	good := ukitest.NewLeaf(t, "Case good signer", false, ca)
	revoked := ukitest.NewLeaf(t, "Case revoked signer", false, ca)
	img := unsignedUKI("case")
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	folded := bytes.Clone(revoked.Cert.RawIssuer)
	folded[bytes.Index(folded, []byte("Case CA"))] = 'c'
	alias := *ca.Cert
	alias.RawSubject = folded
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{Subject: advName("Case decoy"), SerialNumber: revoked.Cert.SerialNumber}
	decoy := advCert(t, tmpl, rk.Public(), rk, &ukitest.Key{Signer: ca.Signer, Cert: &alias})
	p7 := bytes.Clone(ukitest.PKCS7(d, crypto.SHA256, revoked, decoy))
	// The SignerInfo's issuer is the last copy of R's issuer name.
	copy(p7[bytes.LastIndex(p7, revoked.Cert.RawIssuer):], folded)
	signed := ukitest.AttachSignatures(img, p7, ukitest.PKCS7(d, crypto.SHA256, good))
	mustNotBeLooser(t, signed, trustList{certs: certList(ca.Cert)}, trustList{certs: certList(revoked.Cert)})
}
