package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/pkg/kexec"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"golang.org/x/sys/unix"
)

// TestMenuShellAfterSeparator: the menu's s starts the shell only after
// PCRs 7, 11, 12 and 13 were closed, once however often it is pressed;
// with -dry-run the shell starts without (nothing is measured there).
func TestMenuShellAfterSeparator(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, c := range []struct {
		name   string
		args   []string
		calls  []string
		powers bool
	}{
		{"boot mode", nil, separator, true},
		{"-dry-run", []string{"-dry-run"}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			tpm := newRecTPM(measure.SHA256)
			sys := sysWith(f, tpm)
			sys.shell = []string{sh, "-c", "echo shell-started"}
			args := append(c.args, "-timeout", "menu-force", "-verify", "off", "-root", menuTree(t))
			w, out, done, powered := startMenuOnPipe(t, sys, args...)
			var seen [][]string
			waitFor := func(what string, ok func(string) bool) {
				t.Helper()
				deadline := time.After(time.Minute)
				for !ok(out.String()) {
					select {
					case <-out.written:
					case rc := <-done:
						t.Fatalf("the menu ended (rc %d) waiting for %s:\n%s", rc, what, out.String())
					case <-deadline:
						t.Fatalf("timed out waiting for %s:\n%s", what, out.String())
					}
				}
			}
			// The menu drawn again after the n-th shell returned.
			menuAfterShell := func(n int) func(string) bool {
				return func(s string) bool {
					parts := strings.SplitN(s, "shell-started", n+1)
					return len(parts) == n+1 && strings.Contains(parts[n], "o power off")
				}
			}
			waitFor("the menu", func(s string) bool { return strings.Contains(s, "o power off") })
			for n := 1; n <= 2; n++ {
				w.Write([]byte("s"))
				waitFor("the shell", func(s string) bool { return strings.Count(s, "shell-started") >= n })
				seen = append(seen, tpm.calls())
				waitFor("the menu after the shell", menuAfterShell(n))
			}
			w.Write([]byte("o"))
			<-done
			if c.powers {
				<-powered
			}
			for i, calls := range seen {
				if !slices.Equal(calls, c.calls) {
					t.Errorf("TPM calls when shell %d ran: %q, want %q", i+1, calls, c.calls)
				}
			}
		})
	}
}

// TestOnFailure: what -auto does when nothing boots.
func TestOnFailure(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	refused := map[string]error{"K1": &kexec.Error{Errno: unix.EPERM}}
	for _, c := range []struct {
		value   string
		powered []int
	}{
		{"reboot", []int{unix.LINUX_REBOOT_CMD_RESTART}},
		{"poweroff", []int{unix.LINUX_REBOOT_CMD_POWER_OFF}},
		{"shell", nil},
	} {
		t.Run(c.value, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t), refuse: refused}
			tpm := newRecTPM(measure.SHA256)
			var stdout, stderr bytes.Buffer
			rc := runWith([]string{"-auto", "-on-failure", c.value, "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm))
			if rc != 1 || !slices.Equal(f.powered, c.powered) || !strings.Contains(stderr.String(), "nothing booted") {
				t.Errorf("rc %d powered %v, want %v\n%s", rc, f.powered, c.powered, stderr.String())
			}
			if got := tpm.calls(); !slices.Equal(got, append([]string{"load K1"}, separator...)) {
				t.Errorf("TPM calls %q", got)
			}
		})
	}
	t.Run("menu", func(t *testing.T) {
		f := &fakeSystem{platform: noPlatform(t), refuse: refused}
		w, out, done, powered := startMenuOnPipe(t, f.sys(), "-auto", "-on-failure", "menu", "-verify", "off", "-root", esp)
		for !strings.Contains(out.String(), "o power off") {
			select {
			case <-out.written:
			case rc := <-done:
				t.Fatalf("ended (rc %d) without the menu:\n%s", rc, out.String())
			}
		}
		w.Write([]byte("o"))
		if rc := <-done; rc != 0 {
			t.Errorf("rc %d", rc)
		}
		if cmd := <-powered; cmd != unix.LINUX_REBOOT_CMD_POWER_OFF {
			t.Errorf("powered %x", cmd)
		}
	})
}

// TestMeasureFlagsChecked: bad values exit 2 before anything is read.
func TestMeasureFlagsChecked(t *testing.T) {
	for _, args := range [][]string{
		{"-auto", "-measure", "always"},
		{"-auto", "-pcr-banks", "sm3_256"},
		{"-auto", "-pcr-banks", "sha256,md5"},
		{"-auto", "-on-failure", "halt"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if rc := runWith(args, &stdout, &stderr, system{}); rc != 2 || !strings.Contains(stderr.String(), args[1]) {
				t.Errorf("rc %d: %s", rc, stderr.String())
			}
		})
	}
}
