package stub

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// swapFiles serves pre for every read until the first of at least
// 64 KiB, then post (same length).
type swapFiles struct {
	Files
	uki       string
	pre, post []byte
}

func (f swapFiles) Open(name string) (File, error) {
	fl, err := f.Files.Open(name)
	if err != nil || name != f.uki {
		return fl, err
	}
	return &swapFile{File: fl, pre: f.pre, post: f.post}, nil
}

type swapFile struct {
	File
	pre, post []byte
	swapped   bool
}

func (f *swapFile) ReadAt(p []byte, off int64) (int, error) {
	f.swapped = f.swapped || len(p) >= 1<<16
	n, err := f.File.ReadAt(p, off)
	src := f.pre
	if f.swapped {
		src = f.post
	}
	copy(p[:n], src[off:])
	return n, err
}

// TestTableChangedToUncomputedAlgorithm: the pre-read sees [A (SHA-256,
// db), B' (SHA-256, unknown signer)]; the copy holds [A, B] with B a
// valid SHA-384 signature whose signer is in dbx, same layout and table
// size, so the SHA-384 digest was never computed. EDK2 on the copy:
// forbidden. Both paths must refuse (the one pass sees the change; the
// copy path finds a signature it cannot judge and fails closed).
func TestTableChangedToUncomputedAlgorithm(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	revoked := ukitest.NewLeaf(t, "revoked", false, ca)
	other := ukitest.NewCA(t, "other CA", false)
	for _, layout := range []string{"normal", "65 MiB kept"} {
		secs := []ukitest.Section{ukitest.S(".osrel", "ID=swap\n"), ukitest.S(".cmdline", "ro"),
			ukitest.B(".initrd", ukitest.Noise(300<<10, 9)), ukitest.B(".linux", ukitest.Noise(1<<20, 8))}
		if layout == "65 MiB kept" {
			secs = append(secs, ukitest.B(".extra", ukitest.Noise(65<<20, 5)))
		}
		img := ukitest.PadTo8(ukitest.UKI(secs...))
		dA, _ := authenticode.ImageDigest(img, crypto.SHA256)
		dB, _ := authenticode.ImageDigest(img, crypto.SHA384)
		A := ukitest.PKCS7(dA, crypto.SHA256, key)
		post := ukitest.AttachSignatures(img, A, ukitest.PKCS7(dB, crypto.SHA384, revoked))
		var pre []byte
		for n := 0; n < 300 && pre == nil; n++ {
			x := ukitest.NewLeaf(t, "filler "+strings.Repeat("x", n%60), false, other)
			if p := ukitest.AttachSignatures(img, A, ukitest.PKCS7(dA, crypto.SHA256, x)); len(p) == len(post) {
				pre = p
			}
		}
		if pre == nil {
			t.Fatal("no same-length pre table")
		}
		store := authenticode.NewStore()
		store.DB.Certs = append(store.DB.Certs, ca.Cert)
		store.DBX.Certs = append(store.DBX.Certs, revoked.Cert)
		esp := t.TempDir()
		ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", post)
		tg0 := passTarget(t, esp, "a.efi")
		for _, pass := range []passMode{passAuto, passCopy} {
			t.Run(fmt.Sprintf("%s/pass=%d", layout, pass), func(t *testing.T) {
				tg := tg0
				tg.Files = swapFiles{Files: tg.Files, uki: tg.UKI, pre: pre, post: post}
				var ran string
				p, err := Build(tg, Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, pass: pass, ran: &ran})
				t.Logf("path %q: err %v", ran, err)
				if err == nil {
					defer p.Close()
					t.Fatalf("booted under enforce with verdict %v; the copy holds a signature revoked by dbx (EDK2 forbids)", p.Verdict)
				}
				var ue *UntrustedError
				if !errors.As(err, &ue) && !strings.Contains(err.Error(), "changed while it was read") {
					t.Errorf("refused with %v, want an UntrustedError or \"changed while it was read\"", err)
				}
			})
		}
		// Control: the file as the copy holds it, read unchanged, is refused.
		var ue *UntrustedError
		if _, err := Build(tg0, Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}}); !errors.As(err, &ue) {
			t.Errorf("%s: the unchanged file: %v, want an UntrustedError", layout, err)
		}
	}
}
