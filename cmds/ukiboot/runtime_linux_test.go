package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStartTicks(t *testing.T) {
	rest := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21\n"
	for _, tc := range []struct {
		name, stat string
		want       uint64
		wantErr    bool
	}{
		{"plain name", "77 (ukiboot)" + rest, 4242, false},
		{"name with a space and a parenthesis", "77 (uki ) boot)" + rest, 4242, false},
		{"no name", "77 ukiboot" + rest, 0, true},
		{"cut short", "77 (ukiboot) S 1 2 3", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := startTicks(tc.stat)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("startTicks = %d, %v; want %d (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestRunningFor: this test process has run for more than nothing and
// less than since before the test binary was built.
func TestRunningFor(t *testing.T) {
	d, err := runningFor(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > time.Hour {
		t.Errorf("running for %v", d)
	}
}

// TestKexecLogsRunTime: right before the kexec reboot ukiboot says how
// long it ran (make bench's ROM figure); not when it does not reboot.
func TestKexecLogsRunTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"-auto reboots into the kernel", []string{"-auto"}, true},
		{"-no-reboot does not", []string{"-auto", "-no-reboot"}, false},
		{"-dry-run does not", []string{"-auto", "-dry-run"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			esp := t.TempDir()
			ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
			f := &fakeSystem{}
			sys := f.sys()
			rebooted := false
			sys.reboot = func() error { rebooted = true; return nil }
			var stderr bytes.Buffer
			sys.ranFor = func() (time.Duration, error) {
				if rebooted {
					t.Error("run time asked after the reboot")
				}
				return 1234 * time.Millisecond, nil
			}
			if rc := runWith(append(tc.args, "-root", esp), &bytes.Buffer{}, &stderr, sys); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "ukiboot: kexec after 1.23 s\n"); got != tc.want {
				t.Errorf("logged the run time: %v, want %v:\n%s", got, tc.want, stderr.String())
			}
		})
	}
}
