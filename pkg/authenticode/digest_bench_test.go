package authenticode_test

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// benchUKISize is the size of the signed UKI the digest benchmarks hash:
// large enough that the hashes dominate, small enough that `make test`
// (-benchtime=1x) builds it in well under a second.
const benchUKISize = 64 << 20

// benchSignedUKI is a signed UKI of about size bytes, most of it .linux,
// as a distribution's would be, and a store whose db holds its CA.
func benchSignedUKI(b *testing.B, size int) ([]byte, *authenticode.Store) {
	b.Helper()
	ca := ukitest.NewCA(b, "bench db CA", false)
	key := ukitest.NewLeaf(b, "bench signer", false, ca)
	linux := bytes.Repeat([]byte("KERNEL.."), size/8)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	return ukitest.SignedUKI(b, authenticode.ImageDigest, key,
		ukitest.S(".osrel", "ID=bench\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".uname", "6.12.0"),
		ukitest.B(".linux", linux), ukitest.S(".initrd", "INITRD")), store
}

// BenchmarkDigests is the Authenticode image digest of a SHA-256-signed
// UKI: with the one algorithm its signature names ("sha256"), with all
// three Authenticode algorithms ("sha256+sha384+sha512", what Digests
// computes when none is named, and what ukiboot computed before
// NeededAlgorithms), and with the algorithms NeededAlgorithms names for
// a db holding its CA ("needed", SHA-256: the same work as "sha256"
// plus parsing the signature). VerifyFile is "needed" and the checks.
func BenchmarkDigests(b *testing.B) {
	img, store := benchSignedUKI(b, benchUKISize)
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "bench.efi", uki.KindAuto)
	if err != nil {
		b.Fatal(err)
	}
	fixed := func(algs ...crypto.Hash) func() ([]crypto.Hash, error) {
		return func() ([]crypto.Hash, error) { return algs, nil }
	}
	for _, c := range []struct {
		name string
		algs func() ([]crypto.Hash, error)
	}{
		{"sha256", fixed(crypto.SHA256)},
		{"sha256+sha384+sha512", fixed(authenticode.Algorithms...)},
		{"needed", func() ([]crypto.Hash, error) { return authenticode.NeededAlgorithms(f, store) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				algs, err := c.algs()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := authenticode.Digests(f, bytes.NewReader(img), algs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("VerifyFile", func(b *testing.B) {
		b.SetBytes(int64(len(img)))
		for b.Loop() {
			if v := authenticode.VerifyFile(f, bytes.NewReader(img), store); v.Status != authenticode.Trusted {
				b.Fatal(v)
			}
		}
	})
}
