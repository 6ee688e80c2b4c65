package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

type objdumpSection struct {
	name            string
	size, vma, foff uint64
}

func objdumpSections(t *testing.T, path string) []objdumpSection {
	t.Helper()
	out, err := exec.Command(ukitest.Need(t, "objdump"), "-h", path).Output()
	if err != nil {
		t.Fatalf("objdump -h: %v", err)
	}
	var secs []objdumpSection
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 7 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		p := func(s string) uint64 {
			v, err := strconv.ParseUint(s, 16, 64)
			if err != nil {
				t.Fatalf("objdump field %q: %v", s, err)
			}
			return v
		}
		secs = append(secs, objdumpSection{f[1], p(f[2]), p(f[3]), p(f[5])})
	}
	if len(secs) == 0 {
		t.Fatalf("no sections in objdump output:\n%s", out)
	}
	return secs
}

func TestInspectMatchesObjdump(t *testing.T) {
	dir := t.TempDir()
	path := ukitest.ObjcopyUKI(t, dir, []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		ukitest.S(".cmdline", "console=ttyS0"),
		ukitest.S(".uname", "6.1.0-28-amd64\n"),
		ukitest.B(".linux", bytes.Repeat([]byte{1, 2, 3}, 70001)),
		ukitest.B(".initrd", bytes.Repeat([]byte{9}, 5000)),
	})
	want := objdumpSections(t, path)

	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-inspect", path, "-json"}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	var got struct {
		File     string `json:"file"`
		Kind     string `json:"kind"`
		Machine  string `json:"machine"`
		Sections []struct {
			Name           string `json:"name"`
			Offset         uint64 `json:"offset"`
			VirtualSize    uint64 `json:"virtual_size"`
			VirtualAddress uint64 `json:"virtual_address"`
		} `json:"sections"`
		OSRelease  map[string]string `json:"os_release"`
		Uname      string            `json:"uname"`
		Cmdline    string            `json:"cmdline"`
		Signatures int               `json:"signatures"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	if len(got.Sections) != len(want) {
		t.Fatalf("%d sections, objdump lists %d", len(got.Sections), len(want))
	}
	for i, w := range want {
		g := got.Sections[i]
		if g.Name != w.name || g.VirtualSize != w.size || g.VirtualAddress != w.vma || g.Offset != w.foff {
			t.Errorf("section %d: got %s size %#x vma %#x off %#x; objdump %s size %#x vma %#x off %#x",
				i, g.Name, g.VirtualSize, g.VirtualAddress, g.Offset, w.name, w.size, w.vma, w.foff)
		}
	}
	if got.Kind != "uki" || got.Machine != "x86-64" || got.Uname != "6.1.0-28-amd64" || got.Cmdline != "console=ttyS0" ||
		got.OSRelease["PRETTY_NAME"] != "Debian GNU/Linux 12 (bookworm)" || got.Signatures != 0 || got.File != path {
		t.Errorf("summary wrong: %+v", got)
	}

	// The text form lists the same sections, one per line, in order.
	stdout.Reset()
	if rc := run([]string{"-inspect", path}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	text := stdout.String()
	last := 0
	for _, w := range want {
		line := w.name + " "
		i := strings.Index(text[last:], line)
		if i < 0 {
			t.Fatalf("text output lacks %s after byte %d:\n%s", w.name, last, text)
		}
		last += i + len(line)
		rest := text[last:]
		rest = rest[:strings.IndexByte(rest, '\n')]
		if f := strings.Fields(rest); len(f) < 4 || f[0] != fmtHex(w.foff) || f[1] != fmtHex(w.size) || f[3] != fmtHex(w.vma) {
			t.Errorf("text line for %s: %q", w.name, rest)
		}
	}
}

func fmtHex(v uint64) string { return "0x" + leftPad(strconv.FormatUint(v, 16), 8) }

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.efi")
	os.WriteFile(bad, []byte("MZ this is not a PE file at all, just text that goes on for a while.........."), 0o644)
	addon := filepath.Join(dir, "linux.addon.efi")
	os.WriteFile(addon, ukitest.UKI(ukitest.S(".text", "x")), 0o644)
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"-inspect", bad}, 1, bad + ": file is truncated"},
		{[]string{"-inspect", filepath.Join(dir, "missing.efi")}, 1, "no such file"},
		{[]string{"-inspect", addon}, 1, "neither a UKI nor an addon"},
		{[]string{"-inspect", dir}, 1, "not a regular file"},
		{[]string{"-bogus"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		rc := run(c.args, &stdout, &stderr)
		if rc != c.rc || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%q: rc %d stderr %q; want rc %d and %q", c.args, rc, stderr.String(), c.rc, c.msg)
		}
		if c.rc == 1 && strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
			t.Errorf("%q: error is not one line: %q", c.args, stderr.String())
		}
	}
}

func TestInspectProfilesAndSignatures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "multi.efi")
	img := ukitest.Image{
		Sections: []ukitest.Section{
			ukitest.S(".osrel", "ID=fedora\nNAME=Fedora\n"),
			ukitest.S(".linux", "K"),
			ukitest.S(".cmdline", "quiet"),
			ukitest.S(".profile", "ID=default\nTITLE=Default"),
			ukitest.S(".profile", "ID=rescue\nTITLE=Rescue"),
			ukitest.S(".cmdline", "quiet systemd.unit=rescue.target"),
		},
		CertTable: ukitest.WinCert(2, []byte("not really pkcs7")),
	}
	os.WriteFile(path, img.Bytes(), 0o644)
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-inspect", path}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	for _, want := range []string{
		"signatures: 1", "pkcs7 at offset",
		`@0  id=default title="Default"`, `@1  id=rescue title="Rescue"`,
		"cmdline: quiet systemd.unit=rescue.target", `NAME="Fedora"`,
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
