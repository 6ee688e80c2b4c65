package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
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
		{"-json with -auto is refused", []string{"-auto", "-json", "-root", esp}, 2, nil, []string{"-json goes with -list, -inspect or -dry-run"}, ""},
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
