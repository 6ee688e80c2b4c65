package authenticode_test

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
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

// TestNeededAlgorithms: the algorithms of the signatures and of the image
// hashes in db and dbx, and SHA-256, in Algorithms order; nothing for
// certificates and TBS hashes.
func TestNeededAlgorithms(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	sha256Only := []crypto.Hash{crypto.SHA256}
	all := authenticode.Algorithms
	// withHashes is a store with the CA in db and hex strings of the
	// lengths given in db (or dbx).
	withHashes := func(dbx bool, lengths ...int) *authenticode.Store {
		s := storeWith(k.ca)
		l := s.DB
		if dbx {
			l = s.DBX
		}
		for _, n := range lengths {
			l.ImageHashes[strings.Repeat("ab", n/2)] = true
		}
		return s
	}
	tbs := storeWith(k.ca)
	tbs.DB.TBSHashes[strings.Repeat("cd", 48)] = true
	tbs.DBX.TBSHashes[strings.Repeat("cd", 64)] = true
	tbs.DBX.Certs = append(tbs.DBX.Certs, k.other.Cert)

	cases := []struct {
		name  string
		img   []byte
		store *authenticode.Store
		want  []crypto.Hash
	}{
		{"unsigned, empty store", img, authenticode.NewStore(), sha256Only},
		{"SHA-256 signature", sign(t, img, crypto.SHA256, k.leaf), storeWith(k.ca), sha256Only},
		{"SHA-384 signature", sign(t, img, crypto.SHA384, k.leaf), storeWith(k.ca), []crypto.Hash{crypto.SHA256, crypto.SHA384}},
		{"SHA-512 signature", sign(t, img, crypto.SHA512, k.leaf), storeWith(k.ca), []crypto.Hash{crypto.SHA256, crypto.SHA512}},
		{"SHA-512 then SHA-384 signatures", signMixed(t, img, signedWith{crypto.SHA512, k.other}, signedWith{crypto.SHA384, k.leaf}), storeWith(k.ca), all},
		{"SHA-384 image hash in db", img, withHashes(false, 96), []crypto.Hash{crypto.SHA256, crypto.SHA384}},
		{"SHA-512 image hash in dbx", sign(t, img, crypto.SHA256, k.leaf), withHashes(true, 128), []crypto.Hash{crypto.SHA256, crypto.SHA512}},
		{"SHA-512 in db, SHA-384 in dbx", img, func() *authenticode.Store {
			s := withHashes(false, 128)
			s.DBX.ImageHashes[strings.Repeat("ef", 48)] = true
			return s
		}(), all},
		{"SHA-256 image hashes only", img, withHashes(true, 64, 64), sha256Only},
		{"image hashes no Authenticode digest can match", img, withHashes(true, 40, 56, 0, 127), sha256Only},
		{"TBS hashes and certificates", sign(t, img, crypto.SHA256, k.leaf), tbs, sha256Only},
		{"no store", img, nil, all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := authenticode.NeededAlgorithms(parse(t, c.img), c.store)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("algorithms %v, want %v", got, c.want)
			}
		})
	}
}

// TestNeededAlgorithmsUnparsable: when the certificate table or a
// signature in it cannot be parsed, NeededAlgorithms returns no
// algorithm and an error saying Verify's reason, so that the caller can
// refuse the image without hashing it.
func TestNeededAlgorithmsUnparsable(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	good := ukitest.PKCS7(allDigests(t, img)[crypto.SHA384], crypto.SHA384, k.leaf)
	padded := func() []byte {
		b := ukitest.AttachSignatures(img, good)
		l := parse(t, b).Header.CertTable()
		b = append(b, make([]byte, 16)...)
		certDir := int(binary.LittleEndian.Uint32(b[0x3c:])) + 4 + 20 + 112 + 4*8
		binary.LittleEndian.PutUint32(b[certDir+4:], l.Size+16)
		return b
	}()
	cases := []struct {
		name   string
		img    []byte
		reason string
	}{
		{"garbage signature", ukitest.AttachSignatures(img, []byte("garbage, not DER")), "signature 1: bad signature: not PKCS#7"},
		{"good SHA-384 signature, then garbage", ukitest.AttachSignatures(img, good, []byte("garbage")), "signature 2: bad signature: not PKCS#7"},
		{"WIN_CERTIFICATE of another type", ukitest.AttachWinCerts(img, ukitest.WinCert(0x0ef1, good)), "is not PKCS#7 SignedData"},
		{"nine signatures", ukitest.AttachSignatures(img, good, good, good, good, good, good, good, good, good), "at most 8"},
		{"zeros after the last entry", padded, "EDK2 refuses such a table too"},
	}
	store := storeWith(k.ca)
	store.DBX.ImageHashes[strings.Repeat("ab", 64)] = true
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := parse(t, c.img)
			algs, err := authenticode.NeededAlgorithms(f, store)
			if err == nil || algs != nil {
				t.Fatalf("algorithms %v, error %v: want an error and none", algs, err)
			}
			v := authenticode.Verify(f, allDigests(t, c.img), store)
			if v.Status != authenticode.Untrusted || err.Error() != v.Reason {
				t.Errorf("error %q, Verify's verdict %v", err, v)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q does not say %q", err, c.reason)
			}
		})
	}
}

// readLog is an io.ReaderAt that records the ranges read.
type readLog struct {
	r     io.ReaderAt
	reads [][2]int64
}

func (l *readLog) ReadAt(p []byte, off int64) (int, error) {
	n, err := l.r.ReadAt(p, off)
	l.reads = append(l.reads, [2]int64{off, off + int64(n)})
	return n, err
}

// TestVerifyFileUnparsableNotHashed: VerifyFile refuses an image whose
// certificate table cannot be parsed without reading its sections, with
// the reason Verify gives.
func TestVerifyFileUnparsableNotHashed(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	good := ukitest.PKCS7(allDigests(t, img)[crypto.SHA256], crypto.SHA256, k.leaf)
	cases := []struct {
		name string
		img  []byte
	}{
		{"garbage signature", ukitest.AttachSignatures(img, good, []byte("garbage"))},
		{"WIN_CERTIFICATE of another type", ukitest.AttachWinCerts(img, ukitest.WinCert(0x0ef1, good))},
		{"nine signatures", ukitest.AttachSignatures(img, good, good, good, good, good, good, good, good, good)},
	}
	store := storeWith(k.ca)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log := &readLog{r: bytes.NewReader(c.img)}
			f, err := uki.Read(log, int64(len(c.img)), "test.efi", uki.KindAuto)
			if err != nil {
				t.Fatal(err)
			}
			log.reads = nil
			v := authenticode.VerifyFile(f, log, store)
			want := authenticode.Verify(f, allDigests(t, c.img), store)
			if v.Status != authenticode.Untrusted || v.Reason != want.Reason {
				t.Errorf("verdict %v, Verify's %v", v, want)
			}
			linux := f.Section(".linux")
			start, end := int64(linux.PointerToRawData), int64(linux.PointerToRawData)+int64(linux.SizeOfRawData)
			for _, r := range log.reads {
				if r[0] < end && r[1] > start {
					t.Errorf("read bytes %d..%d, .linux is %d..%d: the image was hashed", r[0], r[1], start, end)
				}
			}
		})
	}
}

// FuzzNeededAlgorithms: for any certificate table, and image digests of
// any algorithms in db and dbx, the digests NeededAlgorithms names give
// the verdict all three give; when it fails, Verify refuses the image
// with its error as the reason.
func FuzzNeededAlgorithms(f *testing.F) {
	// ECDSA: fast enough for the instrumented code of each fuzz worker.
	// (A worker makes its own keys, so the seeds' signer chains to db in
	// the first run only; the verdicts must agree either way.)
	ca := ukitest.NewCA(f, "fuzz db CA", true)
	leaf := ukitest.NewLeaf(f, "fuzz signer", true, ca)
	img := unsignedUKI("FUZZ")
	for _, alg := range authenticode.Algorithms {
		d, err := authenticode.ImageDigest(img, alg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ukitest.WinCert(0x0002, ukitest.PKCS7(d, alg, leaf)), uint8(0))
		f.Add(ukitest.WinCert(0x0002, ukitest.PKCS7(d, alg, leaf)), uint8(0b100010))
	}
	f.Add([]byte("garbage"), uint8(0b111111))
	f.Fuzz(func(t *testing.T, table []byte, hashes uint8) {
		signed := ukitest.AttachWinCerts(img, table)
		u, err := uki.Read(bytes.NewReader(signed), int64(len(signed)), "fuzz.efi", uki.KindAuto)
		if err != nil {
			return
		}
		all, err := authenticode.Digests(u, bytes.NewReader(signed), authenticode.Algorithms...)
		if err != nil {
			return
		}
		// Bits 0-2: img's digests in db, 3-5: in dbx, by Algorithms.
		store := authenticode.NewStore()
		store.DB.Certs = append(store.DB.Certs, ca.Cert)
		for i, a := range authenticode.Algorithms {
			if hashes&(1<<i) != 0 {
				store.DB.ImageHashes[hexs(all[a])] = true
			}
			if hashes&(1<<(i+3)) != 0 {
				store.DBX.ImageHashes[hexs(all[a])] = true
			}
		}
		want := authenticode.Verify(u, all, store)
		algs, err := authenticode.NeededAlgorithms(u, store)
		if err != nil {
			if algs != nil || want.Status != authenticode.Untrusted || want.Reason != err.Error() {
				t.Fatalf("NeededAlgorithms: %v, %v; Verify with every digest: %v", algs, err, want)
			}
			return
		}
		some := map[crypto.Hash][]byte{}
		for _, a := range algs {
			some[a] = all[a]
		}
		if got := authenticode.Verify(u, some, store); got.String() != want.String() {
			t.Fatalf("with %v: %v; with every digest: %v", algs, got, want)
		}
	})
}
