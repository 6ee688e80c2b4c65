package authenticode_test

// Hostile trust-store files, found by an adversarial review (each failed
// before its fix): format confusion between PEM and binary lists.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

const (
	adv2X509   = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
	adv2SHA256 = "c1c41626-504c-4092-aca9-41f936934328"
)

func adv2PEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// adv2Verify loads dbxFile as dbx (AddFile), puts ca into db and verifies img.
func adv2Verify(t *testing.T, img []byte, ca *ukitest.Key, dbxFile []byte) (*authenticode.Store, *authenticode.Verdict) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dbx.bin")
	if err := os.WriteFile(p, dbxFile, 0o644); err != nil {
		t.Fatal(err)
	}
	s := storeWith(ca)
	if err := s.AddFile(p, true); err != nil {
		// An error is fail-closed: acceptable.
		t.Logf("AddFile refused the file (fail-closed): %v", err)
		return s, &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
	}
	return s, verify(t, img, s)
}

// A dbx file made of binary signature lists with a PEM certificate
// appended (cat vendor-dbx.esl extra.pem > dbx) is read as PEM only: the
// lists are "text around the blocks" and every revocation in them is
// dropped silently. Fail-open.
func TestHostileESLWithAppendedPEM(t *testing.T) {
	k := keys(t)
	img := sign(t, unsignedUKI("adv2"), crypto.SHA256, k.leaf)
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// dbx: the image's digest and the signer, as lists; then an
	// unrelated certificate in PEM.
	lists := append(esl(adv2SHA256, d), esl(adv2X509, k.leaf.Cert.Raw)...)
	file := append(lists, adv2PEM(k.other.Cert.Raw)...)

	// Control: the lists alone revoke the image.
	if _, v := adv2Verify(t, img, k.ca, lists); v.Status == authenticode.Trusted {
		t.Fatalf("control: lists alone: %v", v)
	}
	for name, file := range map[string][]byte{
		"lists then PEM": file,
		"PEM then lists": append(adv2PEM(k.other.Cert.Raw), lists...),
	} {
		s, v := adv2Verify(t, img, k.ca, file)
		if v.Status == authenticode.Trusted {
			t.Errorf("%s: revoked image trusted: the binary signature lists were dropped silently as text around a PEM block (dbx now: %d certs, %d image hashes): %v",
				name, len(s.DBX.Certs), len(s.DBX.ImageHashes), v)
		}
	}
}

// A revoked certificate that carries a PEM CERTIFICATE block in one of
// its (non-critical, ignored) extensions makes any dbx ESL or efivarfs
// copy that holds it parse as PEM: the revoked certificate itself, and
// every other entry of the file, vanish from dbx; only the embedded decoy
// is loaded. Whoever had the certificate issued (or chose an RSA modulus'
// upper half) controls that content.
func TestHostileCertWithEmbeddedPEM(t *testing.T) {
	ca := ukitest.NewCA(t, "adv2 db CA", false)
	decoy := ukitest.NewCA(t, "decoy", true)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("\n"), adv2PEM(decoy.Cert.Raw)...)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4242),
		Subject:               pkix.Name{CommonName: "adv2 revoked signer", Organization: []string{"ukiboot tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 2, 1}, Value: payload}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, priv.Public(), ca.Signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	revoked := &ukitest.Key{Signer: priv, Cert: cert}
	img := sign(t, unsignedUKI("adv2 embedded"), crypto.SHA256, revoked)

	// Control: with the certificate put into dbx directly the image is
	// refused.
	direct := storeWith(ca)
	direct.DBX.Certs = append(direct.DBX.Certs, cert)
	if v := verify(t, img, direct); v.Status == authenticode.Trusted {
		t.Fatalf("control: %v", v)
	}
	for name, file := range map[string][]byte{
		"esl":      esl(adv2X509, der),
		"efivarfs": append([]byte{0x27, 0, 0, 0}, esl(adv2X509, der)...),
	} {
		t.Run(name, func(t *testing.T) {
			s, v := adv2Verify(t, img, ca, file)
			if v.Status == authenticode.Trusted {
				names := []string{}
				for _, c := range s.DBX.Certs {
					names = append(names, c.Subject.CommonName)
				}
				t.Errorf("image signed by a certificate in dbx is trusted: the %s file was read as PEM, dbx holds %q: %v", name, names, v)
			}
		})
	}
}
