package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// TestInspectUkify255Stub252: -inspect shows a UKI that ukify v255 built
// on a systemd 252 stub (whose .sbat overlaps .sdmagic in memory) and
// says so, in text and JSON.
func TestInspectUkify255Stub252(t *testing.T) {
	im, err := ukitest.Ukify255(ukitest.Stub252(),
		ukitest.S(".osrel", "ID=debian\n"),
		ukitest.S(".sbat", ukitest.Ukify255SBAT(ukitest.Stub252SBAT,
			"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nlinux.debian,1,Debian,linux,6.1.0-28-amd64,https://tracker.debian.org/pkg/linux\n")),
		ukitest.S(".linux", "KERNEL"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := im.Build()
	path := filepath.Join(t.TempDir(), "debian.efi")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	const note = "memory ranges of sections 6 (.sbat) and 7 (.sdmagic) overlap"
	t.Run("text", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if rc := run([]string{"-inspect", path}, &stdout, &stderr); rc != 0 {
			t.Fatalf("rc %d: %s", rc, stderr.String())
		}
		if !strings.Contains(stdout.String(), "notes:\n  "+note) {
			t.Errorf("output lacks the note %q:\n%s", note, stdout.String())
		}
	})
	t.Run("json", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if rc := run([]string{"-inspect", "-json", path}, &stdout, &stderr); rc != 0 {
			t.Fatalf("rc %d: %s", rc, stderr.String())
		}
		var out struct{ Notes []string }
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Notes) != 1 || !strings.Contains(out.Notes[0], note) {
			t.Errorf("notes %q", out.Notes)
		}
	})
}
