package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ukiboot/ukiboot/integration"
)

func TestReport(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, data string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("proc/cmdline", "console=ttyS0 marker=1\n", 0o444)
	mk(".extra/sysext/b.raw", "bb", 0o444)
	mk(".extra/credentials/a.cred", "secret", 0o400)
	mk("marker-b", "second\nmore\n", 0o644)
	mk("marker-a", "first", 0o644)
	mk("not-a-marker", "x", 0o644)
	if err := os.Chmod(filepath.Join(root, ".extra"), 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.cred", filepath.Join(root, ".extra/credentials/link")); err != nil {
		t.Fatal(err)
	}

	var b bytes.Buffer
	report(&b, root)
	r, err := integration.ParseReport(b.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if r.Cmdline != "console=ttyS0 marker=1" {
		t.Errorf("cmdline %q", r.Cmdline)
	}
	want := []integration.ExtraFile{
		{Path: "/.extra", Dir: true, Mode: 0o555},
		{Path: "/.extra/credentials", Dir: true, Mode: 0o755},
		{Path: "/.extra/credentials/a.cred", Mode: 0o400, Size: 6, SHA256: "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"},
		{Path: "/.extra/credentials/link", Mode: 0o777, Other: "L---------"},
		{Path: "/.extra/sysext", Dir: true, Mode: 0o755},
		{Path: "/.extra/sysext/b.raw", Mode: 0o444, Size: 2, SHA256: "3b64db95cb55c763391c707108489ae18b4112d783300de38e033b4c98c3deaf"},
	}
	if len(r.Extra) != len(want) {
		t.Fatalf("extra:\n%+v\nwant\n%+v\n%s", r.Extra, want, b.String())
	}
	for i := range want {
		if r.Extra[i] != want[i] {
			t.Errorf("extra[%d] = %+v, want %+v", i, r.Extra[i], want[i])
		}
	}
	if len(r.Markers) != 2 || r.Markers["marker-a"] != "first" || r.Markers["marker-b"] != "second" {
		t.Errorf("markers %q", r.Markers)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors %q", r.Errors)
	}
}
