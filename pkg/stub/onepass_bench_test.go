package stub

import (
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
)

// BenchmarkOnePass is the plan of the same signed UKI (48 MiB .linux,
// 16 MiB .initrd) read in one pass and through the whole-file copy (the
// fallback for unusual layouts), verified, with one PCR bank and three.
func BenchmarkOnePass(b *testing.B) {
	ca := ukitest.NewCA(b, "bench db CA", false)
	key := ukitest.NewLeaf(b, "bench signer", false, ca)
	img := ukitest.SignedUKI(b, authenticode.ImageDigest, key,
		ukitest.S(".osrel", "ID=bench\n"), ukitest.S(".cmdline", "root=/dev/vda quiet"), ukitest.S(".uname", "6.12.0"),
		ukitest.B(".linux", ukitest.Noise(48<<20, 1)), ukitest.B(".initrd", ukitest.Noise(16<<20, 2)))
	esp := b.TempDir()
	ukitest.WriteTree(b, esp, "EFI/Linux/bench.efi", img)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	tg := passTarget(b, esp, "bench.efi")
	for _, pass := range []struct {
		name string
		mode passMode
	}{{"one", passAuto}, {"copy", passCopy}} {
		for _, banks := range []measure.Banks{{measure.SHA256}, {measure.SHA1, measure.SHA256, measure.SHA384}} {
			b.Run("pass="+pass.name+"/verify=enforce/banks="+strings.ReplaceAll(banks.String(), ",", "+"), func(b *testing.B) {
				pol := Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, Measure: MeasurePolicy{Banks: banks}, pass: pass.mode}
				b.SetBytes(int64(len(img)))
				for b.Loop() {
					p, err := Build(tg, pol)
					if err != nil {
						b.Fatal(err)
					}
					p.Close()
				}
			})
		}
	}
}
