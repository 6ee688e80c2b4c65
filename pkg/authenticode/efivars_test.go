package authenticode_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// TestFirmwareDBOnlyWhenGuarded: the firmware's db in efivarfs is used
// only when the firmware authenticates writes to it (User Mode, a
// time-based authenticated variable); its dbx always.
func TestFirmwareDBOnlyWhenGuarded(t *testing.T) {
	ca := ukitest.NewCert(t, ukitest.CertSpec{Name: "firmware db CA", IsCA: true})
	x509 := authenticode.GUIDBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	list := ukitest.SignatureList(x509, ca.Cert.Raw)
	global := func(name string) string { return name + "-" + authenticode.GlobalVariableGUID }
	for _, c := range []struct {
		name   string
		vars   map[string][]byte
		useDB  bool
		reason string
	}{
		{"User Mode", map[string][]byte{global("SetupMode"): {6, 0, 0, 0, 0}}, true, ""},
		{"User Mode, Audit Mode off", map[string][]byte{global("SetupMode"): {6, 0, 0, 0, 0}, global("AuditMode"): {6, 0, 0, 0, 0}}, true, ""},
		{"Setup Mode", map[string][]byte{global("SetupMode"): {6, 0, 0, 0, 1}}, false, "Setup Mode"},
		{"Audit Mode", map[string][]byte{global("SetupMode"): {6, 0, 0, 0, 0}, global("AuditMode"): {6, 0, 0, 0, 1}}, false, "Audit Mode"},
		{"no SetupMode variable", nil, false, "SetupMode variable is missing"},
		{"db not an authenticated variable", map[string][]byte{global("SetupMode"): {6, 0, 0, 0, 0}, "db-" + authenticode.ImageSecurityDatabaseGUID: append([]byte{7, 0, 0, 0}, list...)}, false, "lack time-based authenticated write access"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string][]byte{
				"db-" + authenticode.ImageSecurityDatabaseGUID:  append([]byte{0x27, 0, 0, 0}, list...),
				"dbx-" + authenticode.ImageSecurityDatabaseGUID: append([]byte{0x27, 0, 0, 0}, list...),
			}
			for k, v := range c.vars {
				files[k] = v
			}
			for k, v := range files {
				if err := os.WriteFile(filepath.Join(dir, k), v, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := authenticode.NewStore()
			if _, err := s.AddEFIVars(dir); err != nil {
				t.Fatal(err)
			}
			if len(s.DBX.Certs) != 1 {
				t.Errorf("dbx: %d certificates, want 1 in every mode", len(s.DBX.Certs))
			}
			if got := len(s.DB.Certs) == 1; got != c.useDB {
				t.Fatalf("db used = %v, want %v (notes %q)", got, c.useDB, s.Notes)
			}
			if !c.useDB && (len(s.Notes) != 1 || !strings.Contains(s.Notes[0], c.reason)) {
				t.Errorf("notes %q do not say %q", s.Notes, c.reason)
			}
		})
	}
}
