package stub_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// TestMinVersion: Policy.MinVersion is checked against the UKI's .uname,
// else its .osrel version, after verification, in every mode; an older
// UKI or one without a version is refused as a rollback.
func TestMinVersion(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	linux := ukitest.S(".linux", "KERNEL")
	cases := []struct {
		name    string
		secs    []ukitest.Section
		min     string
		version string // in the refusal; "" when accepted
		refused bool
	}{
		{name: "no minimum", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\n"), linux}},
		{name: "uname equal", secs: []ukitest.Section{ukitest.S(".uname", "6.12.0"), linux}, min: "6.12.0"},
		{name: "uname newer", secs: []ukitest.Section{ukitest.S(".uname", "6.12.0-fleet"), linux}, min: "6.12"},
		{name: "uname older", secs: []ukitest.Section{ukitest.S(".uname", "6.9.1"), linux}, min: "6.12", version: "6.9.1", refused: true},
		{name: "uname before osrel", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\nVERSION_ID=99\n"), ukitest.S(".uname", "6.1"), linux}, min: "6.12", version: "6.1", refused: true},
		{name: "osrel VERSION_ID newer", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\nVERSION_ID=43\n"), linux}, min: "42"},
		{name: "osrel IMAGE_VERSION first", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\nIMAGE_VERSION=1.2\nVERSION_ID=43\n"), linux}, min: "42", version: "1.2", refused: true},
		{name: "osrel BUILD_ID older", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\nBUILD_ID=2026~rc1\n"), linux}, min: "2026", version: "2026~rc1", refused: true},
		{name: "no version at all", secs: []ukitest.Section{ukitest.S(".osrel", "ID=a\n"), linux}, min: "1", refused: true},
		{name: "no .osrel nor .uname", secs: []ukitest.Section{linux}, min: "1", refused: true},
	}
	for _, mode := range []stub.VerifyMode{stub.VerifyOff, stub.VerifyEnforce} {
		for _, c := range cases {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				esp := t.TempDir()
				write(t, esp, "EFI/Linux/a.efi", ukitest.SignedUKI(t, authenticode.ImageDigest, key, c.secs...))
				pol := stub.Policy{MinVersion: c.min, Verify: stub.Verification{Mode: mode, Store: store}}
				p, err := stub.Build(anyUKI(t, esp, "/EFI/Linux/a.efi"), pol)
				if !c.refused {
					if err != nil {
						t.Fatal(err)
					}
					p.Close()
					return
				}
				var re *stub.RollbackError
				if !errors.As(err, &re) {
					if err == nil {
						p.Close()
					}
					t.Fatalf("error %v, want a RollbackError", err)
				}
				if re.Version != c.version || re.Min != c.min {
					t.Errorf("refused version %q (min %q), want %q (min %q)", re.Version, re.Min, c.version, c.min)
				}
				for _, want := range []string{filepath.Join(esp, "EFI/Linux/a.efi"), c.min, c.version, "rollback"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
			})
		}
	}
}

// TestMinVersionAfterVerification: under enforce, an untrusted UKI is
// refused as untrusted (its version is not what decides).
func TestMinVersionAfterVerification(t *testing.T) {
	stranger := ukitest.NewCA(t, "stranger", false)
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/a.efi", ukitest.SignedUKI(t, authenticode.ImageDigest, stranger, ukitest.S(".uname", "1.0"), ukitest.S(".linux", "K")))
	pol := stub.Policy{MinVersion: "6.12", Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: authenticode.NewStore()}}
	_, err := stub.Build(anyUKI(t, esp, "/EFI/Linux/a.efi"), pol)
	var ue *stub.UntrustedError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want an UntrustedError", err)
	}
}

// anyUKI is a target that boots the UKI at name under esp, also one that
// pkg/bls would not list (without .osrel).
func anyUKI(t *testing.T, esp, name string) stub.Target {
	write(t, esp, "EFI/Linux/anchor.efi", ukitest.UKI(ukitest.S(".osrel", "ID=anchor\n"), ukitest.S(".linux", "K")))
	tg := target(t, esp, "anchor.efi")
	tg.UKI = name
	return tg
}
