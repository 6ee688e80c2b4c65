package authenticode_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// TestCanonicalIsOrderIndependent: db read in any order, with
// duplicates, gives the same bytes, those an independent construction
// (internal/ukitest's EFI_SIGNATURE_LISTs) gives, and they read back to
// the same entries.
func TestCanonicalIsOrderIndependent(t *testing.T) {
	k := keys(t)
	h256a, h256b := bytes.Repeat([]byte{0xaa}, 32), bytes.Repeat([]byte{0x11}, 32)
	h384 := bytes.Repeat([]byte{0x33}, 48)
	tbs := bytes.Repeat([]byte{0x77}, 32)
	sha256T, sha384T := "c1c41626-504c-4092-aca9-41f936934328", "ff3e5307-9fd0-48c9-85f1-8ad56c701e01"
	x509T, tbsT := "a5c059a1-94e4-4aa7-87b5-ab155c2bf072", "3bd2a492-96c0-4079-b420-fcf98ef103ed"
	certs := [][]byte{k.ca.Cert.Raw, k.ecCA.Cert.Raw}
	slices.SortFunc(certs, bytes.Compare)
	var want []byte
	for _, c := range certs {
		want = append(want, esl(x509T, c)...)
	}
	want = append(want, esl(sha256T, h256b, h256a)...)
	want = append(want, esl(sha384T, h384)...)
	want = append(want, esl(tbsT, append(slices.Clone(tbs), make([]byte, 16)...))...)

	orders := map[string][][]byte{
		"one order":                 {esl(x509T, k.ca.Cert.Raw), esl(sha256T, h256a, h256b), esl(x509T, k.ecCA.Cert.Raw), esl(sha384T, h384), esl(tbsT, append(slices.Clone(tbs), bytes.Repeat([]byte{9}, 16)...))},
		"reversed, with duplicates": {esl(tbsT, append(slices.Clone(tbs), make([]byte, 16)...)), esl(sha384T, h384), esl(x509T, k.ecCA.Cert.Raw), esl(sha256T, h256b, h256a), esl(x509T, k.ca.Cert.Raw), esl(x509T, k.ca.Cert.Raw)},
	}
	for name, lists := range orders {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "db.esl"), bytes.Join(lists, nil), 0o644)
			s := authenticode.NewStore()
			if err := s.AddFile(dir, false); err != nil {
				t.Fatal(err)
			}
			got, err := s.DB.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("canonical db differs from the independent construction:\n got %x\nwant %x", got, want)
			}
			again := authenticode.NewStore()
			os.WriteFile(filepath.Join(dir, "db.esl"), got, 0o644)
			if err := again.AddFile(dir, false); err != nil {
				t.Fatalf("the canonical bytes do not read back: %v", err)
			}
			if round, _ := again.DB.Canonical(); !bytes.Equal(round, got) {
				t.Error("the canonical bytes read back to other entries")
			}
		})
	}
}

func TestCanonicalFailsClosed(t *testing.T) {
	cases := map[string]string{
		"not hexadecimal":       "zz",
		"a hash of no EFI type": "abcd",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			s := authenticode.NewStore()
			s.DBX.ImageHashes[h] = true
			if b, err := s.DBX.Canonical(); err == nil {
				t.Fatalf("canonical dbx %x, want an error", b)
			}
		})
	}
	if b, err := (*authenticode.List)(nil).Canonical(); err != nil || len(b) != 0 {
		t.Errorf("nil list: %x, %v", b, err)
	}
}

// TestVerdictNamesTheAnchorEntry: a Trusted verdict carries the db
// entry that allowed the image, an untrusted one none.
func TestVerdictNamesTheAnchorEntry(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	signed := sign(t, img, crypto.SHA256, k.leaf)
	t.Run("certificate", func(t *testing.T) {
		v := verify(t, signed, storeWith(k.other, k.ca))
		if v.Status != authenticode.Trusted || !bytes.Equal(v.AnchorCert, k.ca.Cert.Raw) || v.AnchorDigest != nil {
			t.Fatalf("verdict %v: anchor cert %d bytes, digest %x", v, len(v.AnchorCert), v.AnchorDigest)
		}
	})
	t.Run("image digest", func(t *testing.T) {
		d, _ := authenticode.Digests(parse(t, img), bytes.NewReader(img), crypto.SHA256)
		s := authenticode.NewStore()
		s.DB.ImageHashes[hexs(d[crypto.SHA256])] = true
		v := verify(t, img, s)
		if v.Status != authenticode.Trusted || !bytes.Equal(v.AnchorDigest, d[crypto.SHA256]) || v.AnchorCert != nil {
			t.Fatalf("verdict %v: anchor digest %x", v, v.AnchorDigest)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		v := verify(t, signed, storeWith(k.other))
		if v.AnchorCert != nil || v.AnchorDigest != nil {
			t.Fatalf("untrusted verdict names an anchor")
		}
	})
}

// A db that holds one certificate many times enforces what its
// Canonical form (one copy, the PCR 7 "db" event) says: copies are
// dropped when the list is read, instead of each spending the
// signature-check budget again (found by the adversarial pass: 150
// copies of a decoy with the CA's subject made a good image untrusted
// while PCR 7's db event equalled the one-copy store's).
func TestDuplicateCertificatesAreOneEntry(t *testing.T) {
	ca := ukitest.NewCA(t, "dup CA", false)
	leaf := ukitest.NewLeaf(t, "dup leaf", false, ca)
	dk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	decoy := advCert(t, &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: ca.Cert.Subject, BasicConstraintsValid: true, IsCA: true}, dk.Public(), dk, nil)
	signed := signAll(t, unsignedUKI("dup"), sig(leaf))
	const x509T = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
	store := func(copies int) *authenticode.Store {
		b := esl(x509T, ca.Cert.Raw)
		for range copies {
			b = append(b, esl(x509T, decoy.Raw)...)
		}
		p := filepath.Join(t.TempDir(), "db.esl")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := authenticode.NewStore()
		if err := s.AddFile(p, false); err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, many := store(1), store(150)
	if len(many.DB.Certs) != 2 {
		t.Errorf("db of the CA and 150 copies of one decoy holds %d certificates, want 2", len(many.DB.Certs))
	}
	c1, _ := one.DB.Canonical()
	c2, _ := many.DB.Canonical()
	v1, v2 := verify(t, signed, one), verify(t, signed, many)
	if !bytes.Equal(c1, c2) || v1.Status != authenticode.Trusted || v2.Status != v1.Status {
		t.Errorf("canonical equal %v; one copy: %s; 150 copies: %s", bytes.Equal(c1, c2), v1, v2)
	}
}
