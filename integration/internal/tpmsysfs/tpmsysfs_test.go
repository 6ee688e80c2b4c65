package tpmsysfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBanksAndRead(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	write("pcr-sha384/7", strings.Repeat("AB", 48)+"\n")
	write("pcr-sha1/7", strings.Repeat("00", 20)+"\n")
	write("pcr-sha1/11", "XYZ\n")
	write("pcr-notadir", "")
	write("tpm_version_major", "2\n")

	banks, err := Banks(dir)
	if err != nil || strings.Join(banks, " ") != "sha1 sha384" {
		t.Fatalf("Banks = %q, %v; want sha1 sha384", banks, err)
	}
	for _, c := range []struct {
		name, bank string
		pcr        int
		want       string // "" for an error
	}{
		{"upper-case hex comes back lower-case", "sha384", 7, strings.Repeat("ab", 48)},
		{"reset value", "sha1", 7, strings.Repeat("00", 20)},
		{"not hex", "sha1", 11, ""},
		{"no such PCR", "sha1", 12, ""},
		{"no such bank", "sha256", 7, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Read(dir, c.bank, c.pcr)
			if c.want == "" {
				if err == nil {
					t.Errorf("Read = %q, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("Read = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	bank, pcr, v, err := ParseLine(Line("sha256", 11, "00ff"))
	if err != nil || bank != "sha256" || pcr != 11 || !bytes.Equal(v, []byte{0, 0xff}) {
		t.Errorf("ParseLine(Line) = %q %d %x %v", bank, pcr, v, err)
	}
	for _, bad := range []string{"", "sha256 11", "sha256 x 00", "sha256 11 0g", "sha256 24 00", "sha256 11 00 extra"} {
		if _, _, _, err := ParseLine(bad); err == nil {
			t.Errorf("ParseLine(%q): no error", bad)
		}
	}
}
