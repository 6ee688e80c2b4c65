package authenticode_test

import (
	"bytes"
	"crypto"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// signedWith is one signature to attach: its digest algorithm and signer.
type signedWith struct {
	alg crypto.Hash
	key *ukitest.Key
}

// signMixed signs img (unsigned, padded) once per entry, each with its
// own digest algorithm, in that order.
func signMixed(t *testing.T, img []byte, sigs ...signedWith) []byte {
	t.Helper()
	var blobs [][]byte
	for _, s := range sigs {
		d, err := authenticode.ImageDigest(img, s.alg)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, ukitest.PKCS7(d, s.alg, s.key))
	}
	return ukitest.AttachSignatures(img, blobs...)
}

// allDigests is every Authenticode digest of img: what Verify was given
// before ukiboot computed only the algorithms needed.
func allDigests(t *testing.T, img []byte) map[crypto.Hash][]byte {
	t.Helper()
	d, err := authenticode.Digests(parse(t, img), bytes.NewReader(img), authenticode.Algorithms...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// addImageHashes adds img's digests of the algorithms given to l.
func addImageHashes(t *testing.T, l *authenticode.List, img []byte, algs ...crypto.Hash) {
	t.Helper()
	d := allDigests(t, img)
	for _, a := range algs {
		l.ImageHashes[hexs(d[a])] = true
	}
}

// TestAlgorithmCoverage: whichever digest algorithms ukiboot computes, an
// image hash of any Authenticode algorithm in db or dbx counts, and every
// signature is checked with its own algorithm. The verdict of VerifyFile
// is the one of Verify given all three digests, with its reason.
func TestAlgorithmCoverage(t *testing.T) {
	k := keys(t)
	revoked := ukitest.NewLeaf(t, "Revoked signer", false, k.ca)
	img := unsignedUKI("INITRD")
	other := unsignedUKI("OTHER!")
	signed := sign(t, img, crypto.SHA256, k.leaf)

	// dbx: the CA in db, img's digests in dbx.
	dbx := func(img []byte, algs ...crypto.Hash) *authenticode.Store {
		s := storeWith(k.ca)
		addImageHashes(t, s.DBX, img, algs...)
		return s
	}
	// db: img's digests in db, and the CA when withCA.
	db := func(withCA bool, img []byte, algs ...crypto.Hash) *authenticode.Store {
		s := authenticode.NewStore()
		if withCA {
			s = storeWith(k.ca)
		}
		addImageHashes(t, s.DB, img, algs...)
		return s
	}
	dbxCert := storeWith(k.ca)
	dbxCert.DBX.Certs = append(dbxCert.DBX.Certs, revoked.Cert)

	cases := []struct {
		name   string
		img    []byte
		store  *authenticode.Store
		status authenticode.Status
		reason string // a part of the reason of a verdict that is not Trusted
		anchor string // the hex AnchorDigest of a Trusted verdict by image digest
	}{
		{"SHA-256 signature, SHA-384 image digest in dbx", signed, dbx(signed, crypto.SHA384), authenticode.Untrusted, "the image's digest is in dbx", ""},
		{"SHA-256 signature, SHA-512 image digest in dbx", signed, dbx(signed, crypto.SHA512), authenticode.Untrusted, "the image's digest is in dbx", ""},
		{"SHA-384 signature, SHA-512 image digest in dbx", sign(t, img, crypto.SHA384, k.leaf), dbx(img, crypto.SHA512), authenticode.Untrusted, "the image's digest is in dbx", ""},
		{"SHA-256 signature, another image's SHA-384 digest in dbx", signed, dbx(other, crypto.SHA384), authenticode.Trusted, "", ""},
		{"unsigned, SHA-384 image digest in db", img, db(false, img, crypto.SHA384), authenticode.Trusted, "", hexs(allDigests(t, img)[crypto.SHA384])},
		{"unsigned, SHA-512 image digest in db", img, db(false, img, crypto.SHA512), authenticode.Trusted, "", hexs(allDigests(t, img)[crypto.SHA512])},
		{"unsigned, SHA-256 and SHA-512 image digests in db", img, db(false, img, crypto.SHA512, crypto.SHA256), authenticode.Trusted, "", hexs(allDigests(t, img)[crypto.SHA256])},
		{"unsigned, another image's SHA-384 digest in db", img, db(false, other, crypto.SHA384), authenticode.Unsigned, "no signature", ""},
		{"SHA-256 signature, another image's SHA-384 digest in db", signed, db(true, other, crypto.SHA384), authenticode.Trusted, "", ""},
		{"SHA-384 signature", sign(t, img, crypto.SHA384, k.leaf), storeWith(k.ca), authenticode.Trusted, "", ""},
		{"SHA-512 signature", sign(t, img, crypto.SHA512, k.leaf), storeWith(k.ca), authenticode.Trusted, "", ""},
		{"SHA-512 signature by an unknown key", sign(t, img, crypto.SHA512, k.other), storeWith(k.ca), authenticode.Untrusted, "does not chain", ""},
		{"unknown SHA-256 signer, then good SHA-384 signature", signMixed(t, img, signedWith{crypto.SHA256, k.other}, signedWith{crypto.SHA384, k.leaf}), storeWith(k.ca), authenticode.Trusted, "", ""},
		{"unknown SHA-512 signer, then good SHA-256 signature", signMixed(t, img, signedWith{crypto.SHA512, k.other}, signedWith{crypto.SHA256, k.leaf}), storeWith(k.ca), authenticode.Trusted, "", ""},
		{"good SHA-256 signature, then a revoked SHA-512 signer", signMixed(t, img, signedWith{crypto.SHA256, k.leaf}, signedWith{crypto.SHA512, revoked}), dbxCert, authenticode.Untrusted, "signature 2 (CN=Revoked signer,O=ukiboot tests) is revoked", ""},
		{"good SHA-384 signature, then a revoked SHA-256 signer", signMixed(t, img, signedWith{crypto.SHA384, k.leaf}, signedWith{crypto.SHA256, revoked}), dbxCert, authenticode.Untrusted, "signature 2 (CN=Revoked signer,O=ukiboot tests) is revoked", ""},
		{"two good signatures, SHA-512 image digest in dbx", signMixed(t, img, signedWith{crypto.SHA256, k.leaf}, signedWith{crypto.SHA384, k.leaf}), dbx(img, crypto.SHA512), authenticode.Untrusted, "the image's digest is in dbx", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verify(t, c.img, c.store)
			if v.Status != c.status {
				t.Fatalf("verdict %v, want %s", v, c.status)
			}
			if c.status != authenticode.Trusted && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q does not say %q", v.Reason, c.reason)
			}
			if got := hexs(v.AnchorDigest); got != c.anchor {
				t.Errorf("anchor digest %s, want %q", got, c.anchor)
			}
			all := authenticode.Verify(parse(t, c.img), allDigests(t, c.img), c.store)
			if v.String() != all.String() || v.Signer != all.Signer {
				t.Errorf("verdict %v (signer %q), with all three digests %v (signer %q)", v, v.Signer, all, all.Signer)
			}
		})
	}
}

// TestDigestNotComputed: a signature whose algorithm is missing from the
// digests Verify is given is not valid, so it neither allows the image
// nor escapes dbx by being skipped silently: the image is not Trusted.
func TestDigestNotComputed(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	cases := []struct {
		name string
		alg  crypto.Hash   // the signature's
		have []crypto.Hash // the digests given
	}{
		{"SHA-384 signature, SHA-256 digest only", crypto.SHA384, []crypto.Hash{crypto.SHA256}},
		{"SHA-512 signature, SHA-256 and SHA-384 digests", crypto.SHA512, []crypto.Hash{crypto.SHA256, crypto.SHA384}},
		{"SHA-256 signature, SHA-512 digest only", crypto.SHA256, []crypto.Hash{crypto.SHA512}},
		{"SHA-256 signature, no digest", crypto.SHA256, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed := sign(t, img, c.alg, k.leaf)
			all := allDigests(t, signed)
			d := map[crypto.Hash][]byte{}
			for _, a := range c.have {
				d[a] = all[a]
			}
			v := authenticode.Verify(parse(t, signed), d, storeWith(k.ca))
			if v.Status == authenticode.Trusted {
				t.Fatalf("trusted without its digest: %v", v)
			}
			if !strings.Contains(v.Reason, "was not computed") {
				t.Errorf("reason %q does not say the digest was not computed", v.Reason)
			}
		})
	}
}
