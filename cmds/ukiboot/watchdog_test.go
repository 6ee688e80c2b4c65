package main

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/kexec"
	"golang.org/x/sys/unix"
)

// TestWatchdogDisarmedBeforeReboot: with UROOT_KEXEC_DISARM_WATCHDOG=1
// the watchdog daemon is disarmed after a successful kexec_file_load and
// right before the reboot, as u-root's kexec does; never when nothing is
// rebooted into (-dry-run, -no-reboot, nothing loaded), and a failure to
// disarm is logged and the reboot goes on.
func TestWatchdogDisarmedBeforeReboot(t *testing.T) {
	tests := []struct {
		name      string
		env       string
		args      []string
		refuse    string // kernel the kernel refuses to load
		disarmErr error
		rc        int
		events    []string
		log       string
	}{
		{"disarmed between load and reboot", "1", []string{"-auto"}, "", nil, 0,
			[]string{"load KA", "disarm", "reboot"}, "disarmed the watchdog daemon (UROOT_KEXEC_DISARM_WATCHDOG=1)"},
		{"only after the load that succeeds", "1", []string{"-auto"}, "KA", nil, 0,
			[]string{"load KA", "load KB", "disarm", "reboot"}, "disarmed the watchdog daemon"},
		{"a failure is logged and the reboot goes on", "1", []string{"-auto"}, "", errors.New("cannot reach watchdogd"), 0,
			[]string{"load KA", "disarm", "reboot"}, "UROOT_KEXEC_DISARM_WATCHDOG=1 but the watchdog daemon was not disarmed: cannot reach watchdogd; starting the kernel anyway"},
		{"not with -dry-run", "1", []string{"-auto", "-dry-run"}, "", nil, 0, nil, ""},
		{"not with -no-reboot: the machine would be left unwatched", "1", []string{"-auto", "-no-reboot"}, "", nil, 0,
			[]string{"load KA"}, ""},
		{"not when nothing could be loaded", "1", []string{"-auto", "-entry", "b.efi"}, "KB", nil, 1,
			[]string{"load KB"}, "nothing could be booted"},
		{"not without the variable", "", []string{"-auto"}, "", nil, 0, []string{"load KA", "reboot"}, ""},
		{"not with another value", "yes", []string{"-auto"}, "", nil, 0, []string{"load KA", "reboot"}, ""},
	}
	esp := t.TempDir()
	ukiFile(t, esp, "a.efi", "a", "1", "c", "KA")
	ukiFile(t, esp, "b.efi", "b", "2", "c", "KB")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var events []string
			f := &fakeSystem{}
			sys := f.sys()
			sys.load = func(k, _ *os.File, _ string) error {
				b := make([]byte, 2)
				k.ReadAt(b, 0)
				events = append(events, "load "+string(b))
				if string(b) == tc.refuse {
					return &kexec.Error{Errno: unix.EPERM}
				}
				return nil
			}
			sys.reboot = func() error { events = append(events, "reboot"); return nil }
			getenv := func(k string) string {
				if k == "UROOT_KEXEC_DISARM_WATCHDOG" {
					return tc.env
				}
				return ""
			}
			sys.disarmWatchdog = watchdogDisarmer(getenv, func() error { events = append(events, "disarm"); return tc.disarmErr })
			var stdout, stderr bytes.Buffer
			rc := runWith(append(tc.args, "-root", esp), &stdout, &stderr, sys)
			if rc != tc.rc || !reflect.DeepEqual(events, tc.events) {
				t.Fatalf("rc %d, events %q; want rc %d, %q\n%s", rc, events, tc.rc, tc.events, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, stderr.String())
			}
			if tc.env != "1" && strings.Contains(stderr.String(), "watchdog") {
				t.Errorf("log speaks of the watchdog:\n%s", stderr.String())
			}
		})
	}
}
