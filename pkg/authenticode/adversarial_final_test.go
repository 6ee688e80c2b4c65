package authenticode_test

import (
	"bytes"
	"crypto"
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
