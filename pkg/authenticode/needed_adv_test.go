package authenticode_test

import (
	"crypto"
	"crypto/sha512"
	"fmt"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// TestNeededAlgorithmsRevocationCombos: an image that dbx forbids stays
// untrusted with only the digests NeededAlgorithms names, even when
// every other path would allow it: a good SHA-256 signature and the
// image's SHA-256 digest in db, next to a SHA-512 signature whose
// carried intermediate is revoked by its TBS SHA-384/512 hash, by its
// re-issued copy (same name and key), or whose root is revoked (by
// chaining) while the intermediate is db's.
func TestNeededAlgorithmsRevocationCombos(t *testing.T) {
	root := ukitest.NewCert(t, ukitest.CertSpec{Name: "Root", RSA: true, IsCA: true})
	inter := ukitest.NewCert(t, ukitest.CertSpec{Name: "Intermediate", RSA: true, IsCA: true, Parent: root})
	leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "Signer via intermediate", RSA: true, Parent: inter})
	good := ukitest.NewCA(t, "Good CA", false)
	goodLeaf := ukitest.NewLeaf(t, "Good signer", false, good)
	img := unsignedUKI("COMBO")
	d := allDigests(t, img)
	sigs := ukitest.AttachSignatures(img,
		ukitest.PKCS7(d[crypto.SHA256], crypto.SHA256, goodLeaf),
		ukitest.PKCS7(d[crypto.SHA512], crypto.SHA512, leaf, inter.Cert))
	s384 := sha512.Sum384(inter.Cert.RawTBSCertificate)
	s512 := sha512.Sum512(inter.Cert.RawTBSCertificate)
	reissued := ukitest.NewCert(t, ukitest.CertSpec{Name: "Intermediate", IsCA: true, Key: inter.Signer, Parent: good})
	for _, c := range []struct {
		name string
		db   []*ukitest.Key
		dbx  func(*authenticode.List)
	}{
		{"TBS SHA-384 of the carried intermediate", []*ukitest.Key{good, root}, func(l *authenticode.List) { l.TBSHashes[hexs(s384[:])] = true }},
		{"TBS SHA-512 of the carried intermediate", []*ukitest.Key{good, root}, func(l *authenticode.List) { l.TBSHashes[hexs(s512[:])] = true }},
		{"intermediate re-issued by another CA", []*ukitest.Key{good, root}, func(l *authenticode.List) { l.Certs = append(l.Certs, reissued.Cert) }},
		{"root in dbx, intermediate in db", []*ukitest.Key{good, inter}, func(l *authenticode.List) { l.Certs = append(l.Certs, root.Cert) }},
	} {
		for _, order := range []string{"good first", "revoked first"} {
			t.Run(fmt.Sprintf("%s/%s", c.name, order), func(t *testing.T) {
				signed := sigs
				if order == "revoked first" {
					signed = ukitest.AttachSignatures(img,
						ukitest.PKCS7(d[crypto.SHA512], crypto.SHA512, leaf, inter.Cert),
						ukitest.PKCS7(d[crypto.SHA256], crypto.SHA256, goodLeaf))
				}
				store := storeWith(c.db...)
				store.DB.ImageHashes[hexs(allDigests(t, signed)[crypto.SHA256])] = true
				c.dbx(store.DBX)
				algs, err := authenticode.NeededAlgorithms(parse(t, signed), store)
				if err != nil {
					t.Fatal(err)
				}
				if len(algs) != 2 || algs[0] != crypto.SHA256 || algs[1] != crypto.SHA512 {
					t.Errorf("needed %v, want SHA-256 and SHA-512", algs)
				}
				v := verify(t, signed, store)
				if v.Status == authenticode.Trusted {
					t.Fatalf("trusted although dbx revokes a signature: %v", v)
				}
				all := authenticode.Verify(parse(t, signed), allDigests(t, signed), store)
				if all.Status == authenticode.Trusted {
					t.Fatalf("trusted with every digest: %v", all)
				}
				// Without the dbx entry the image is trusted: the
				// revocation is what refuses it.
				clean := storeWith(c.db...)
				clean.DB.ImageHashes[hexs(allDigests(t, signed)[crypto.SHA256])] = true
				if v := verify(t, signed, clean); v.Status != authenticode.Trusted {
					t.Errorf("without dbx: %v", v)
				}
			})
		}
	}
}
