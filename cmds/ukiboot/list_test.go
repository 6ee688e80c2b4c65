package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/blstest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// TestList50MatchesBootctl: `ukiboot -list -json` on a 50-entry tree over
// an ESP and an XBOOTLDR prints bootctl's order.
func TestList50MatchesBootctl(t *testing.T) {
	esp, xb := t.TempDir(), t.TempDir()
	g := &blstest.Generator{R: rand.New(rand.NewSource(50)), NoBad: true}
	g.Tree(esp, xb, 50)
	want := blstest.Bootctl(t, esp, xb)
	if len(want) != 50 {
		t.Fatalf("bootctl lists %d entries", len(want))
	}
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-list", "-json", "-root", esp, "-root", xb}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	var got []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("%d entries", len(got))
	}
	for i := range want {
		if got[i]["id"] != want[i].ID || got[i]["title"] != want[i].Title || got[i]["path"] != want[i].Path {
			t.Errorf("entry %d: ukiboot %v %v, bootctl %s %s", i, got[i]["id"], got[i]["title"], want[i].ID, want[i].Title)
		}
	}
	// The text form lists the same ids in the same order.
	stdout.Reset()
	if rc := run([]string{"-list", "-root", esp, "-root", xb}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	text := stdout.String()
	last := 0
	for _, w := range want {
		i := strings.Index(text[last:], " "+w.ID+" ")
		if i < 0 {
			t.Fatalf("text output lacks %s after byte %d", w.ID, last)
		}
		last += i + len(w.ID)
	}
}

func TestListJSONFields(t *testing.T) {
	esp := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte("default rescue*\ntimeout 3\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/rescue+2-1.conf"), []byte("title Rescue\nversion 1\nsort-key zz\nmachine-id abc\nlinux /vmlinuz\noptions single\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/broken.conf"), []byte("title Broken\nlinux /vmlinuz\ninitrd /nope\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/deb.efi"), ukitest.UKI(ukitest.S(".osrel", "ID=debian\nPRETTY_NAME=Debian\nVERSION_ID=12\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".linux", "K")), 0o644)
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-list", "-json", "-verify", "off", "-root", esp}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	var got []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries: %s", len(got), stdout.String())
	}
	for _, e := range got {
		for _, k := range []string{"id", "type", "title", "version", "sort_key", "machine_id", "path", "profile", "cmdline", "tries_left", "tries_done", "default", "status"} {
			if _, ok := e[k]; !ok {
				t.Errorf("%v lacks %q", e["id"], k)
			}
		}
	}
	want := []map[string]any{
		{"id": "deb.efi", "type": "type2", "title": "Debian", "version": "12", "sort_key": "debian", "cmdline": "quiet", "default": false, "status": "ok", "tries_left": nil},
		{"id": "rescue.conf", "type": "type1", "sort_key": "zz", "machine_id": "abc", "cmdline": "single", "default": true, "default_source": "loader.conf", "tries_left": 2.0, "tries_done": 1.0, "status": "ok"},
		{"id": "broken.conf", "status": "invalid", "default": false},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("entry %d %s = %#v, want %#v", i, k, got[i][k], v)
			}
		}
	}
	if e, _ := got[2]["error"].(string); !strings.Contains(e, "initrd /nope: no such file") {
		t.Errorf("error %q", e)
	}

	stdout.Reset()
	run([]string{"-list", "-verify", "off", "-root", esp}, &stdout, &stderr)
	for _, s := range []string{"* 2  rescue.conf", "default: rescue.conf (chosen by loader.conf)", "timeout: 3", "broken.conf: " + esp} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, stdout.String())
		}
	}
}

func TestListUsesEFIVars(t *testing.T) {
	esp := t.TempDir()
	vars := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	os.WriteFile(filepath.Join(esp, "k"), []byte("k"), 0o644)
	for _, n := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(esp, "loader/entries", n+".conf"), []byte("linux /k\n"), 0o644)
	}
	os.WriteFile(filepath.Join(vars, "LoaderEntryDefault-"+bls.LoaderVendorGUID), bls.EncodeVarString("a.conf"), 0o644)
	t.Setenv("UKIBOOT_EFIVARS", vars)
	var stdout, stderr bytes.Buffer
	run([]string{"-list", "-root", esp}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "default: a.conf (chosen by LoaderEntryDefault)") {
		t.Errorf("output:\n%s", stdout.String())
	}

	// The timeout -list shows is the one the menu uses: LoaderConfigTimeout
	// replaces loader.conf's, LoaderConfigTimeoutOneShot both.
	os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte("timeout 3\n"), 0o644)
	for _, c := range []struct {
		vars map[string]string
		want string
	}{
		{nil, "timeout: 3 (" + filepath.Join(esp, "loader/loader.conf") + ")"},
		{map[string]string{bls.VarConfigTimeout: "7"}, "timeout: 7 (LoaderConfigTimeout)"},
		{map[string]string{bls.VarConfigTimeout: "7", bls.VarConfigTimeoutOneShot: "menu-hidden"}, "timeout: menu-hidden (LoaderConfigTimeoutOneShot, menu forced)"},
	} {
		for _, n := range []string{bls.VarConfigTimeout, bls.VarConfigTimeoutOneShot} {
			os.Remove(filepath.Join(vars, n+"-"+bls.LoaderVendorGUID))
		}
		for n, v := range c.vars {
			os.WriteFile(filepath.Join(vars, n+"-"+bls.LoaderVendorGUID), bls.EncodeVarString(v), 0o644)
		}
		stdout.Reset()
		run([]string{"-list", "-root", esp}, &stdout, &stderr)
		if !strings.Contains(stdout.String(), c.want) {
			t.Errorf("%v: output lacks %q:\n%s", c.vars, c.want, stdout.String())
		}
	}
}

func TestListErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	noDisks := system{roots: func(*options, func(string, ...any)) (*partitions, error) {
		return nil, errors.New("no ESP found on any disk")
	}}
	if rc := runWith([]string{"-list"}, &stdout, &stderr, noDisks); rc != 1 || !strings.Contains(stderr.String(), "no ESP found") {
		t.Errorf("rc %d %q", rc, stderr.String())
	}
	stderr.Reset()
	if rc := run([]string{"-list", "-root", "/nonexistent/esp"}, &stdout, &stderr); rc != 1 || !strings.Contains(stderr.String(), "/nonexistent/esp") {
		t.Errorf("rc %d %q", rc, stderr.String())
	}
}

func TestFlagConflicts(t *testing.T) {
	for _, args := range [][]string{
		{"-inspect", "x", "-list"},
		{"-list", "-auto"},
		{"-list", "-entry", "x"},
		{"-inspect", "x", "-append", "y"},
		{"-auto", "-extract", "/tmp/x"},
		{"-auto", "-json"},
		{"-json"},
		{"-list", "-dry-run"},
		{"-list", "-no-reboot"},
		{"-auto", "-dry-run", "-no-reboot"},
	} {
		var stdout, stderr bytes.Buffer
		if rc := run(args, &stdout, &stderr); rc != 2 {
			t.Errorf("%q: rc %d, want 2 (%s)", args, rc, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-h"}, &stdout, &stderr); rc != 0 || !strings.Contains(stderr.String(), "-auto") {
		t.Errorf("-h: rc %d", rc)
	}
}

// TestListHiddenEntries: entries systemd-boot does not list (here a type
// #1 entry whose kernel is missing, a relative uki-url entry and a UKI for another
// CPU) are not in the table, the menu order or -auto's order, nor the
// default even when LoaderEntryOneShot names one; -list counts them and
// -list -v (and -list -json -v) shows each with its reason.
func TestListHiddenEntries(t *testing.T) {
	esp, vars := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/good.conf"), []byte("linux /vmlinuz\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/zz-gone.conf"), []byte("linux /gone\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/zz-net.conf"), []byte("uki-url :a.efi\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/zz-arm.efi"), ukitest.Image{Machine: 0xaa64, Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=arm\n"), ukitest.S(".linux", "K")}}.Bytes(), 0o644)
	os.WriteFile(filepath.Join(vars, "LoaderEntryOneShot-"+bls.LoaderVendorGUID), bls.EncodeVarString("zz-gone.conf"), 0o644)
	t.Setenv("UKIBOOT_EFIVARS", vars)
	reasons := map[string]string{
		"zz-gone.conf": "linux /gone: no such file",
		"zz-net.conf":  "uki-url :a.efi: no origin URL",
		"zz-arm.efi":   "built for aa64 (arm64)",
	}

	var stdout, stderr bytes.Buffer
	if rc := run([]string{"-list", "-verify", "off", "-root", esp}, &stdout, &stderr); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{"* 1  good.conf", "default: good.conf (chosen by first entry)", "-auto tries: good.conf\n", "hidden: 3 entries that systemd-boot does not list either: add -v to see why"} {
		if !strings.Contains(text, want) {
			t.Errorf("-list lacks %q:\n%s", want, text)
		}
	}
	for id := range reasons {
		if strings.Contains(text, id) {
			t.Errorf("-list shows %s:\n%s", id, text)
		}
	}

	stdout.Reset()
	run([]string{"-list", "-v", "-verify", "off", "-root", esp}, &stdout, &stderr)
	for id, reason := range reasons {
		if !strings.Contains(stdout.String(), "  "+id+": "+esp) || !strings.Contains(stdout.String(), reason) {
			t.Errorf("-list -v lacks %s: %s:\n%s", id, reason, stdout.String())
		}
	}

	for _, verbose := range []bool{false, true} {
		args := []string{"-list", "-json", "-verify", "off", "-root", esp}
		if verbose {
			args = append(args, "-v")
		}
		stdout.Reset()
		run(args, &stdout, &stderr)
		var got []map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stdout.String())
		}
		hidden := map[string]map[string]any{}
		for _, e := range got[1:] {
			hidden[e["id"].(string)] = e
		}
		if got[0]["id"] != "good.conf" || got[0]["hidden"] != nil {
			t.Errorf("%v: first entry %v", args, got[0])
		}
		if !verbose {
			if len(got) != 1 {
				t.Errorf("-list -json shows hidden entries: %s", stdout.String())
			}
			continue
		}
		for id, reason := range reasons {
			e := hidden[id]
			if e == nil || e["hidden"] != true || e["status"] != "hidden" || e["default"] != false || e["auto_order"] != 0.0 || !strings.Contains(e["error"].(string), reason) {
				t.Errorf("-list -json -v: %s = %v", id, e)
			}
		}
	}
	// -auto -entry naming a hidden entry does not boot it, and says why.
	for id, reason := range reasons {
		stderr.Reset()
		if rc := run([]string{"-auto", "-dry-run", "-verify", "off", "-entry", id, "-root", esp}, &stdout, &stderr); rc != 1 {
			t.Errorf("-auto -entry %s: rc %d, want 1", id, rc)
		}
		if want := id + " is not listed, as systemd-boot would not list it: "; !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), reason) {
			t.Errorf("-auto -entry %s: stderr lacks %q and %q:\n%s", id, want, reason, stderr.String())
		}
	}
}
