package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListShowsBootDisk: -list says which disk and partitions it read,
// in text and, per entry, in JSON.
func TestListShowsBootDisk(t *testing.T) {
	esp, xb := t.TempDir(), t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "quiet", "K1")
	os.MkdirAll(filepath.Join(xb, "loader/entries"), 0o755)
	os.WriteFile(filepath.Join(xb, "k"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(xb, "loader/entries/x.conf"), []byte("title X\nlinux /k\n"), 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	scanned := f.sys()
	scanned.roots = func(*options, func(string, ...any)) (*partitions, error) {
		return &partitions{dirs: []string{esp, xb}, names: []string{"vda1 (ESP)", "vda2 (XBOOTLDR)"}, mounted: true, disk: "vda",
			close: func() {}, writable: func(string) (func() error, error) { return func() error { return nil }, nil }}, nil
	}
	for _, c := range []struct {
		name     string
		args     []string
		wantText string
		wantJSON map[string][2]string // id -> disk, partition
	}{
		{"scanned disks", []string{"-list", "-verify", "off"},
			"boot disk: vda (ESP vda1, XBOOTLDR vda2)\n", nil},
		{"scanned disks, JSON", []string{"-list", "-json", "-verify", "off"}, "",
			map[string][2]string{"os-1.efi": {"vda", "vda1 (ESP)"}, "x.conf": {"vda", "vda2 (XBOOTLDR)"}}},
		{"-root", []string{"-list", "-verify", "off", "-root", esp, "-root", xb},
			"partitions: ESP " + esp + ", then " + xb + "\n", nil},
		{"-root, JSON", []string{"-list", "-json", "-verify", "off", "-root", esp, "-root", xb}, "",
			map[string][2]string{"os-1.efi": {"", esp}, "x.conf": {"", xb}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sys := scanned
			if strings.Contains(strings.Join(c.args, " "), "-root") {
				sys = f.sys()
			}
			var stdout, stderr bytes.Buffer
			if rc := runWith(c.args, &stdout, &stderr, sys); rc != 0 {
				t.Fatalf("rc %d: %s", rc, stderr.String())
			}
			if c.wantJSON == nil {
				if !strings.Contains(stdout.String(), c.wantText) {
					t.Errorf("output lacks %q:\n%s", c.wantText, stdout.String())
				}
				return
			}
			var got []map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("%v:\n%s", err, stdout.String())
			}
			found := 0
			for _, e := range got {
				id, _ := e["id"].(string)
				w, ok := c.wantJSON[id]
				if !ok {
					continue
				}
				found++
				d, _ := e["disk"].(string)
				p, _ := e["partition"].(string)
				if d != w[0] || p != w[1] {
					t.Errorf("%s: disk %q partition %q, want %q %q", id, d, p, w[0], w[1])
				}
			}
			if found != len(c.wantJSON) {
				t.Errorf("found %d of the entries %v:\n%s", found, c.wantJSON, stdout.String())
			}
		})
	}
}
