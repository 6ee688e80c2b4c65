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
// as a distribution's would be.
func benchSignedUKI(b *testing.B, size int) []byte {
	b.Helper()
	ca := ukitest.NewCA(b, "bench db CA", false)
	key := ukitest.NewLeaf(b, "bench signer", false, ca)
	linux := bytes.Repeat([]byte("KERNEL.."), size/8)
	return ukitest.SignedUKI(b, authenticode.ImageDigest, key,
		ukitest.S(".osrel", "ID=bench\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".uname", "6.12.0"),
		ukitest.B(".linux", linux), ukitest.S(".initrd", "INITRD"))
}

// BenchmarkDigests is the Authenticode image digest of a signed UKI, with
// the one algorithm a signature names and with all three Authenticode
// algorithms (what Digests computes when none is named).
func BenchmarkDigests(b *testing.B) {
	img := benchSignedUKI(b, benchUKISize)
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "bench.efi", uki.KindAuto)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		algs []crypto.Hash
	}{
		{"sha256", []crypto.Hash{crypto.SHA256}},
		{"sha256+sha384+sha512", authenticode.Algorithms},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				if _, err := authenticode.Digests(f, bytes.NewReader(img), c.algs...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
