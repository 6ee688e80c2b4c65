package stub_test

import (
	"bytes"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Sizes of the benchmarks' UKI: a large kernel and initrd, so that the
// one-pass copy and its hashes dominate, yet built in well under a
// second for `make test` (-benchtime=1x).
const (
	benchLinuxSize  = 48 << 20
	benchInitrdSize = 16 << 20
)

// benchESP is a partition with one signed UKI ("bench.efi") and an
// enforcing policy whose db holds that UKI's digest.
func benchESP(b *testing.B) (string, stub.Verification, int64) {
	b.Helper()
	ca := ukitest.NewCA(b, "bench db CA", false)
	key := ukitest.NewLeaf(b, "bench signer", false, ca)
	img := ukitest.SignedUKI(b, authenticode.ImageDigest, key,
		ukitest.S(".osrel", "ID=bench\n"), ukitest.S(".cmdline", "root=/dev/vda quiet"), ukitest.S(".uname", "6.12.0"),
		ukitest.B(".linux", bytes.Repeat([]byte("KERNEL.."), benchLinuxSize/8)),
		ukitest.B(".initrd", bytes.Repeat([]byte("INITRD.."), benchInitrdSize/8)))
	esp := b.TempDir()
	ukitest.WriteTree(b, esp, "EFI/Linux/bench.efi", img)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	return esp, stub.Verification{Mode: stub.VerifyEnforce, Store: store}, int64(len(img))
}

// benchTarget finds the UKI of benchESP as the scanner would.
func benchTarget(b *testing.B, esp string) stub.Target {
	b.Helper()
	c, err := bls.Load([]string{esp}, bls.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	for _, e := range c.Entries {
		if e.ID == "bench.efi" {
			tg, err := stub.TargetOf(e)
			if err != nil {
				b.Fatal(err)
			}
			return tg
		}
	}
	b.Fatal("no entry bench.efi")
	return stub.Target{}
}

// BenchmarkBuild is the plan of a signed UKI: the one-pass copy of the
// kernel and initrd into memfds with their hashes and the PCR digests,
// with one PCR bank and with three, without and with verification.
func BenchmarkBuild(b *testing.B) {
	esp, enforce, size := benchESP(b)
	tg := benchTarget(b, esp)
	one := measure.Banks{measure.SHA256}
	three := measure.Banks{measure.SHA1, measure.SHA256, measure.SHA384}
	for _, c := range []struct {
		name string
		pol  stub.Policy
	}{
		{"verify=off/banks=sha256", stub.Policy{Measure: stub.MeasurePolicy{Banks: one}}},
		{"verify=off/banks=sha1+sha256+sha384", stub.Policy{Measure: stub.MeasurePolicy{Banks: three}}},
		{"verify=enforce/banks=sha256", stub.Policy{Verify: enforce, Measure: stub.MeasurePolicy{Banks: one}}},
		{"verify=enforce/banks=sha1+sha256+sha384", stub.Policy{Verify: enforce, Measure: stub.MeasurePolicy{Banks: three}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				p, err := stub.Build(tg, c.pol)
				if err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}
