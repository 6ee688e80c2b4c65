package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// The report prints the banks of tpm0, PCRs 7, 11, 12 and 13 of each, and
// the TPM log ukiboot put in the initrd, which the test parses back.
func TestReportTPM(t *testing.T) {
	for _, c := range []struct {
		name      string
		tpm       bool
		log       []byte
		wantBanks []string
	}{
		{"no TPM, no log", false, nil, nil},
		{"two banks and a log longer than a line", true, bytes.Repeat([]byte("\x1e{\"pcr\":11}\n"), 20), []string{"sha1", "sha256"}},
		{"a TPM, an empty log", true, []byte{}, []string{"sha1", "sha256"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			mk := func(name, data string) {
				t.Helper()
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o444); err != nil {
					t.Fatal(err)
				}
			}
			mk("proc/cmdline", "x\n")
			if c.tpm {
				for _, pcr := range []string{"7", "11", "12", "13", "0"} {
					mk("sys/class/tpm/tpm0/pcr-sha1/"+pcr, strings.Repeat("0"+pcr[:1], 20)+"\n")
					mk("sys/class/tpm/tpm0/pcr-sha256/"+pcr, strings.Repeat("A"+pcr[:1], 32)+"\n")
				}
			}
			if c.log != nil {
				mk(".extra/tpm2-measure.log", string(c.log))
			}
			var b bytes.Buffer
			report(&b, root)
			r, err := integration.ParseReport(b.String())
			if err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			if r.TPM != c.tpm || strings.Join(r.Banks, " ") != strings.Join(c.wantBanks, " ") {
				t.Errorf("TPM %v banks %q, want %v %q", r.TPM, r.Banks, c.tpm, c.wantBanks)
			}
			if c.tpm {
				got := fmt.Sprintf("%x %x %d %d", r.PCRs["sha1"][12], r.PCRs["sha256"][7], len(r.PCRs["sha256"]), len(r.PCRs))
				want := strings.Repeat("01", 20) + " " + strings.Repeat("a7", 32) + " 4 2"
				if got != want {
					t.Errorf("PCRs: sha1 12, sha256 7, PCRs per bank, banks = %s, want %s", got, want)
				}
			}
			if !bytes.Equal(r.TPMLog, c.log) || (r.TPMLog == nil) != (len(c.log) == 0) {
				t.Errorf("TPM log %q, want %q", r.TPMLog, c.log)
			}
			if len(r.Errors) != 0 {
				t.Errorf("errors %q", r.Errors)
			}
		})
	}
}
