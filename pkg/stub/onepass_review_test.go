package stub

import (
	"errors"
	"runtime"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
)

// allocDuring returns the bytes the Go heap handed out while f ran.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestOnePassZeroTailBoundedBeforeVerify: an unsigned UKI of a few KiB whose
// .linux has a zero tail as large as its (attacker-chosen)
// SectionAlignment is refused under enforce without allocating that tail:
// the copy path verifies first; the one pass must not allocate
// VirtualSize-SizeOfRawData bytes per bank before Verify runs. With
// SectionAlignment 0xffffffff the tail is ~4 GiB per bank.
func TestOnePassZeroTailBoundedBeforeVerify(t *testing.T) {
	const tail = 1 << 28 // 256 MiB here; the file allows ~4 GiB
	img := ukitest.Image{SectionAlignment: tail, Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=a\n"),
		{Name: ".linux", Data: noise(4096, 20), VirtualSize: 4096 + tail},
	}}.Bytes()
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	for _, pass := range []passMode{passCopy, passAuto} {
		pol := Policy{Verify: Verification{Mode: VerifyEnforce, Store: authenticode.NewStore()},
			Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA256}}, pass: pass}
		var err error
		n := allocDuring(func() {
			var p *Plan
			p, err = Build(tg, pol)
			if err == nil {
				p.Close()
			}
		})
		var ue *UntrustedError
		if !errors.As(err, &ue) {
			t.Errorf("pass=%d: got %v, want an UntrustedError", pass, err)
		}
		if n > 32<<20 {
			t.Errorf("pass=%d: %d MiB allocated to refuse a %d-byte unsigned UKI", pass, n>>20, len(img))
		}
	}
}

// TestOnePassOddLayoutsSameAsCopy: odd layouts through both paths.
func TestOnePassOddLayoutsSameAsCopy(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	k, i, u := noise(1<<20+17, 21), noise(70001, 22), noise(3001, 23)
	sign := func(secs ...ukitest.Section) []byte {
		return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
	}
	cases := []struct {
		name string
		img  []byte
	}{
		{"vs<raw", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".ucode", Data: u, VirtualSize: 1001},
			ukitest.Section{Name: ".initrd", Data: i, VirtualSize: 50001}, ukitest.Section{Name: ".linux", Data: k, VirtualSize: 1 << 19})},
		{"raw 0 initrd", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.B(".ucode", u), ukitest.Section{Name: ".initrd", VirtualSize: 100, RawSize: 0}, ukitest.B(".linux", k))},
		{"trailer", ukitest.Image{Sections: []ukitest.Section{ukitest.S(".osrel", "ID=a\n"), ukitest.B(".initrd", i), ukitest.B(".linux", k)}, Trailer: noise(777, 24)}.Bytes()},
		{"ucode after initrd, tails", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".initrd", Data: i, VirtualSize: uint32(len(i)) + 3},
			ukitest.Section{Name: ".ucode", Data: u, VirtualSize: uint32(len(u)) + 1}, ukitest.B(".linux", k))},
		{"initrd tail+ucode tail", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".ucode", Data: u, VirtualSize: uint32(len(u)) + 2001},
			ukitest.Section{Name: ".initrd", Data: i, VirtualSize: uint32(len(i)) + 1}, ukitest.B(".linux", k))},
	}
	for _, c := range cases {
		name := c.name
		esp := t.TempDir()
		ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", c.img)
		tg := passTarget(t, esp, "a.efi")
		for _, mode := range []VerifyMode{VerifyOff, VerifyReport, VerifyEnforce} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				pol := Policy{Verify: Verification{Mode: mode, Store: store}, Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA1, measure.SHA256}, Log: true}}
				if got := samePlans(t, tg, pol); got != ranOnePass {
					t.Errorf("read by the %s; this case is about the one pass", got)
				}
			})
		}
	}
}
