package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// First-contact messages (issue 10, item 6): each case holds its text.
func TestFirstContactMessages(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "quiet", "K1")
	empty := t.TempDir()
	uki := filepath.Join(esp, "EFI/Linux/os-1.efi")
	for _, tc := range []struct {
		name     string
		args     []string
		rc       int
		stdout   []string
		stderr   []string
		noStderr string
	}{
		{"flags after -inspect's file are read", []string{"-inspect", "-json", uki}, 0, []string{`"sections"`}, nil, "unexpected arguments"},
		{"-inspect FILE -json", []string{"-inspect", uki, "-json"}, 0, []string{`"sections"`}, nil, ""},
		{"-wait takes plain seconds", []string{"-list", "-wait", "5", "-verify", "off", "-root", esp}, 0, []string{"os-1.efi"}, nil, ""},
		{"-version", []string{"-version"}, 0, []string{"ukiboot "}, nil, ""},
		{"usage names the menu and the verification flags", []string{"-h"}, 0, nil, []string{"(the boot menu)", "-timeout", "-verify auto|enforce|off", "-db PATH", "-dbx PATH", "-no-reboot"}, ""},
		{"an empty -root says where it looked", []string{"-list", "-root", empty}, 1, nil, []string{"no boot entries in " + empty + ": looked for /loader/entries/*.conf and /EFI/Linux/*.efi"}, "no boot entries found"},
		{"-entry in the menu is refused", []string{"-entry", "x", "-root", esp}, 2, nil, []string{"-entry goes with -auto"}, ""},
		{"-timeout with -auto is refused", []string{"-auto", "-timeout", "5", "-root", esp}, 2, nil, []string{"-timeout goes with the menu"}, ""},
		{"-json with -auto is refused", []string{"-auto", "-json", "-root", esp}, 2, nil, []string{"-json goes with -list, -inspect or -auto -dry-run"}, ""},
		{"-json in the menu is refused", []string{"-dry-run", "-json", "-verify", "off", "-root", esp}, 2, nil, []string{"-json goes with -list, -inspect or -auto -dry-run: the menu draws on stdout"}, ""},
		{"-json with -auto -dry-run is read", []string{"-auto", "-dry-run", "-json", "-verify", "off", "-root", esp}, 0, []string{`"entry"`}, nil, ""},
		{"a negative -timeout is refused", []string{"-timeout", "-5s", "-verify", "off", "-root", esp}, 2, nil, []string{`invalid value "-5s" for flag -timeout: a negative timeout`}, ""},
		{"a -timeout that is no timeout is refused", []string{"-timeout", "soon", "-verify", "off", "-root", esp}, 2, nil, []string{`invalid value "soon" for flag -timeout`}, ""},
		{"the entry is named once", []string{"-auto", "-verify", "enforce", "-root", esp}, 1, nil, []string{"cannot boot os-1.efi: " + uki + " is not trusted"}, "entry os-1.efi:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			var stdout, stderr bytes.Buffer
			rc := runWith(tc.args, &stdout, &stderr, f.sys())
			if rc != tc.rc {
				t.Errorf("rc %d, want %d\n%s\n%s", rc, tc.rc, stdout.String(), stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if tc.noStderr != "" && strings.Contains(stderr.String(), tc.noStderr) {
				t.Errorf("stderr has %q:\n%s", tc.noStderr, stderr.String())
			}
		})
	}
}

// Files on a partition ukiboot mounted are named as the user knows them
// (device and label plus the path on it), not by the private mount path.
func TestMessagesNamePartitionsAsTheUserKnowsThem(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "loader/entries"), 0o755)
	os.WriteFile(filepath.Join(dir, "loader/entries/broken.conf"), []byte("linux /missing\n"), 0o644)
	ukiFile(t, dir, "os-1.efi", "os", "1", "quiet", "K1")
	f := &fakeSystem{platform: noPlatform(t)}
	sys := f.sys()
	sys.roots = func(*options, func(string, ...any)) (*partitions, error) {
		return &partitions{dirs: []string{dir}, names: []string{"vda1 (ESP)"}, mounted: true, close: func() {},
			writable: func(string) (func() error, error) { return func() error { return nil }, nil }}, nil
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a hidden entry in -list -v", []string{"-list", "-v"}, "vda1 (ESP):/loader/entries/broken.conf"},
		{"a refused UKI in -list -verify-all", []string{"-list", "-verify-all", "-verify", "enforce"}, "vda1 (ESP):/EFI/Linux/os-1.efi: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			runWith(tc.args, &stdout, &stderr, sys)
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tc.want) || strings.Contains(out, dir) {
				t.Errorf("want %q and no %s:\n%s", tc.want, dir, out)
			}
		})
	}
}

// A UKI signed under a CA the trust store does not hold is "not trusted"
// once, with the reason, not "not trusted: untrusted:".
func TestUntrustedSaidOnce(t *testing.T) {
	esp, _ := verifyTree(t)
	other := ukitest.NewCA(t, "Other CA", false)
	db := filepath.Join(t.TempDir(), "other.der")
	os.WriteFile(db, other.Cert.Raw, 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	runWith([]string{"-auto", "-entry", "os-1.efi", "-db", db, "-root", esp}, &stdout, &stderr, f.sys())
	if log := stderr.String(); !strings.Contains(log, "os-1.efi is not trusted: ") || strings.Contains(log, "not trusted: untrusted") {
		t.Errorf("log:\n%s", log)
	}
}
