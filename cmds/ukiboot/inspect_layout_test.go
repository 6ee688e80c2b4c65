package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/stub"
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
	const rule = "systemd-stub 252 rules (.sdmagic says systemd-stub 252.39-1~deb12u2): .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey"
	t.Run("text", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if rc := run([]string{"-inspect", path}, &stdout, &stderr); rc != 0 {
			t.Fatalf("rc %d: %s", rc, stderr.String())
		}
		if !strings.Contains(stdout.String(), "stub:       systemd-stub 252.39-1~deb12u2\n") {
			t.Errorf("output lacks the stub's version:\n%s", stdout.String())
		}
		if !strings.Contains(stdout.String(), "pcr 11:     "+rule+"\n") {
			t.Errorf("output lacks the PCR 11 rule:\n%s", stdout.String())
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
		var out struct {
			Notes     []string
			PCR11Rule string `json:"pcr11_rule"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Notes) != 1 || !strings.Contains(out.Notes[0], note) {
			t.Errorf("notes %q", out.Notes)
		}
		if out.PCR11Rule != rule {
			t.Errorf("pcr11_rule %q, want %q", out.PCR11Rule, rule)
		}
	})
}

// TestInspectDTBAuto: -inspect says which .dtbauto systemd-stub would
// choose on this machine, and when it cannot tell, that PCR 11 cannot
// match ukify's signed predictions.
func TestInspectDTBAuto(t *testing.T) {
	fdt := func(compat string) []byte {
		return ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList(compat)})
	}
	path := filepath.Join(t.TempDir(), "arm.efi")
	img := ukitest.UKI(ukitest.S(".osrel", "ID=x\n"), ukitest.S(".linux", "K"),
		ukitest.B(".dtbauto", fdt("vendor,board-a")), ukitest.B(".dtbauto", fdt("vendor,board-b")))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	board := fstest.MapFS{"proc/device-tree/compatible": {Data: ukitest.StringList("vendor,board-b", "vendor,soc")}}
	for _, c := range []struct {
		name string
		root fs.FS
		json bool
		want string
	}{
		{"chosen", board, false, `@0  section 3: the running kernel's devicetree is compatible with "vendor,board-b"; measured into PCR 11, not handed on`},
		{"cannot tell", nil, false, "@0  cannot tell: the machine's devicetree and SMBIOS were not read; PCR 11 cannot match ukify's signed predictions for this UKI"},
		{"json", board, true, `"section": 3`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := inspect(&out, path, stub.Verification{}, stub.DefaultMaxSize, c.json, c.root); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, out.String())
			}
		})
	}
}
