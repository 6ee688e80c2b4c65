package stub_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// TestMinVersionProfile: the minimum version is checked against the
// profile that boots: a UKI whose profile 0 is new and whose profile 1
// carries an old kernel and .uname never boots that old kernel when the
// entry asks for @1 (refused as a rollback), and profile 0 boots.
func TestMinVersionProfile(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	newK, oldK := []byte("NEW-KERNEL"), []byte("OLD-KERNEL-5.10")
	img := ukitest.SignedUKI(t, authenticode.ImageDigest, key,
		ukitest.S(".osrel", "ID=a\n"), ukitest.S(".uname", "6.12.0"), ukitest.B(".linux", newK),
		ukitest.S(".profile", "ID=new\n"), ukitest.S(".profile", "ID=old\n"), ukitest.S(".uname", "5.10.0"), ukitest.B(".linux", oldK))
	for _, prof := range []int{0, 1} {
		for _, mode := range []stub.VerifyMode{stub.VerifyOff, stub.VerifyEnforce} {
			esp := t.TempDir()
			write(t, esp, "EFI/Linux/a.efi", img)
			tg := anyUKI(t, esp, "/EFI/Linux/a.efi")
			tg.Profile = prof
			p, err := stub.Build(tg, stub.Policy{MinVersion: "6.12", Verify: stub.Verification{Mode: mode, Store: store}})
			var re *stub.RollbackError
			if errors.As(err, &re) {
				t.Logf("profile %d, %v: refused: %v", prof, mode, re)
				if prof == 0 {
					t.Errorf("profile 0 (6.12.0) refused: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("profile %d, %v: %v", prof, mode, err)
			}
			k, _ := io.ReadAll(io.NewSectionReader(p.Kernel.File, 0, p.Kernel.Size))
			p.Close()
			if bytes.Equal(k, oldK) {
				t.Errorf("profile %d, %v: the 5.10 kernel booted with minimum 6.12", prof, mode)
			}
		}
	}
}
