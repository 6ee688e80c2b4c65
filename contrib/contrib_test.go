// Package contrib holds files for the OS that ukiboot boots (README.md);
// its tests run them on the host.
package contrib

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

const (
	rec1 = "\x1e{\"pcr\":11,\"digests\":[{\"hashAlg\":\"sha256\",\"digest\":\"00\"}],\"content_type\":\"systemd\",\"content\":{\"string\":\".linux\"}}\n"
	rec2 = "\x1e{\"pcr\":12,\"digests\":[{\"hashAlg\":\"sha256\",\"digest\":\"01\"}],\"content_type\":\"systemd\",\"content\":{\"string\":\"Credentials initrd\"}}\n"
	// phase is a record systemd-pcrphase writes.
	phase = "\x1e{\"pcr\":11,\"digests\":[{\"hashAlg\":\"sha256\",\"digest\":\"02\"}],\"content_type\":\"systemd\",\"content\":{\"string\":\"enter-initrd\",\"eventType\":\"phase\"}}\n"
)

// ukiboot-measure-log appends the handed-over log to systemd's as systemd
// appends to it: mode 0600, the sticky bit clear when done, an aborted log
// (sticky bit set) left alone, and only once per boot.
func TestMeasureLogScript(t *testing.T) {
	script, err := filepath.Abs("ukiboot-measure-log")
	if err != nil {
		t.Fatal(err)
	}
	sh := ukitest.Need(t, "sh")
	for _, c := range []struct {
		name     string
		src      string // the handed-over log; "" for none
		existing string // systemd's log before; "" for none
		sticky   bool   // it carries the sticky bit
		symlink  bool   // it is a symbolic link to another file
		runs     int
		wantLog  string // "" for no log afterwards
		wantFail bool
	}{
		{name: "no log yet", src: rec1 + rec2, runs: 1, wantLog: rec1 + rec2},
		{name: "after records already there", src: rec1 + rec2, existing: phase, runs: 1, wantLog: phase + rec1 + rec2},
		{name: "only once per boot", src: rec1, runs: 2, wantLog: rec1},
		{name: "an aborted log is left alone", src: rec1, existing: phase, sticky: true, runs: 1, wantLog: phase},
		{name: "an empty handed-over log", src: "", runs: 1},
		{name: "not a JSON-SEQ log", src: "{\"pcr\":11}\n", runs: 1, wantFail: true},
		{name: "a symbolic link is not followed", src: rec1, existing: phase, symlink: true, runs: 1, wantLog: phase, wantFail: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "extra", "tpm2-measure.log")
			log := filepath.Join(dir, "run", "log", "systemd", "tpm2-measure.log")
			write(t, src, c.src, 0o444)
			target := log
			if c.symlink {
				target = filepath.Join(dir, "elsewhere")
				if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, log); err != nil {
					t.Fatal(err)
				}
			}
			if c.existing != "" {
				mode := os.FileMode(0o600)
				if c.sticky {
					mode |= os.ModeSticky
				}
				write(t, target, c.existing, mode)
			}
			var failed bool
			for i := 0; i < c.runs; i++ {
				cmd := exec.Command(sh, script, src)
				cmd.Env = append(os.Environ(), "SYSTEMD_MEASURE_LOG_USERSPACE="+log)
				out, err := cmd.CombinedOutput()
				t.Logf("run %d: %v %s", i+1, err, out)
				failed = failed || err != nil
			}
			if failed != c.wantFail {
				t.Errorf("failed: %v, want %v", failed, c.wantFail)
			}
			got, err := os.ReadFile(target)
			if c.wantLog == "" {
				if err == nil {
					t.Errorf("systemd's log is %q, want none", got)
				}
				return
			}
			if string(got) != c.wantLog {
				t.Errorf("systemd's log:\n%q\nwant\n%q", got, c.wantLog)
			}
			fi, err := os.Lstat(target)
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o600)
			if c.sticky {
				want |= os.ModeSticky
			}
			if fi.Mode() != want {
				t.Errorf("mode %v, want %v", fi.Mode(), want)
			}
		})
	}
}

// The unit passes systemd-analyze verify without a word (its ExecStart
// pointed at the script here, since verify checks that it exists).
func TestMeasureLogUnitVerifies(t *testing.T) {
	analyze := ukitest.Need(t, "systemd-analyze")
	script, err := filepath.Abs("ukiboot-measure-log")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("systemd/ukiboot-measure-log.service")
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/lib/ukiboot/ukiboot-measure-log "
	if !bytes.Contains(unit, []byte(exec0)) {
		t.Fatalf("the unit does not run %s", exec0)
	}
	p := filepath.Join(t.TempDir(), "ukiboot-measure-log.service")
	write(t, p, strings.Replace(string(unit), exec0, "ExecStart="+script+" ", 1), 0o644)
	out, err := exec.Command(analyze, "verify", "--man=no", p).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func write(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode.Perm()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
