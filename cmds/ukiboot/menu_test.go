package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func menuTree(t *testing.T) string {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	return esp
}

// runMenuWith runs ukiboot without a mode (the menu) with keys typed in.
func runMenuWith(t *testing.T, f *fakeSystem, keys string, args ...string) (int, string, string) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sys := f.sys()
	sys.stdin = r
	go func() {
		time.Sleep(200 * time.Millisecond)
		w.Write([]byte(keys))
	}()
	defer w.Close()
	var stdout, stderr bytes.Buffer
	rc := runWith(args, &stdout, &stderr, sys)
	return rc, stdout.String(), stderr.String()
}

func TestMenuDownEnter(t *testing.T) {
	esp := menuTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	rc, out, log := runMenuWith(t, f, "\x1b[B\r", "-timeout", "menu-force", "-verify", "off", "-root", esp)
	if rc != 0 || len(f.loads) != 1 || string(f.loads[0].kernel) != "K1" {
		t.Fatalf("rc %d loads %+v\n%s\n%s", rc, f.loads, out, log)
	}
	if !strings.Contains(out, "ukiboot: boot menu") || !strings.Contains(out, ">  2 os (1)") {
		t.Errorf("menu:\n%s", out)
	}
}

func TestMenuTimeoutBootsDefault(t *testing.T) {
	esp := menuTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	start := time.Now()
	rc, out, log := runMenuWith(t, f, "", "-timeout", "1s", "-verify", "off", "-root", esp)
	if rc != 0 || len(f.loads) != 1 || string(f.loads[0].kernel) != "K2" {
		t.Fatalf("rc %d loads %+v\n%s\n%s", rc, f.loads, out, log)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("booted after %v, before the 1 s timeout", d)
	}
}

func TestMenuFailureComesBack(t *testing.T) {
	esp := menuTree(t)
	f := &fakeSystem{platform: noPlatform(t), refuse: map[string]error{"K2": os.ErrPermission}}
	// Enter on the default fails; the menu shows why; Down, Enter boots.
	rc, out, log := runMenuWith(t, f, "\r\x1b[B\r", "-timeout", "menu-force", "-verify", "off", "-root", esp)
	if rc != 0 || len(f.loads) != 2 || string(f.loads[1].kernel) != "K1" {
		t.Fatalf("rc %d loads %d\n%s\n%s", rc, len(f.loads), out, log)
	}
	if !strings.Contains(out, "! cannot boot os-2.efi: permission denied") {
		t.Errorf("failure not shown:\n%s", out)
	}
}

func TestMenuHiddenBootsAtOnce(t *testing.T) {
	esp := menuTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	rc, out, _ := runMenuWith(t, f, "", "-timeout", "0", "-verify", "off", "-root", esp)
	if rc != 0 || len(f.loads) != 1 || strings.Contains(out, "boot menu") {
		t.Errorf("rc %d loads %d; menu shown:\n%s", rc, len(f.loads), out)
	}
}

// The menu draws in place with VT100 sequences (the selection in reverse
// video) unless TERM is dumb, where no escape byte is written.
func TestMenuScreenFollowsTERM(t *testing.T) {
	for _, tc := range []struct {
		term string
		ansi bool
	}{{"vt100", true}, {"dumb", false}, {"", false}} {
		t.Run("TERM="+tc.term, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t), term: tc.term}
			rc, out, log := runMenuWith(t, f, "\x1b[B\r", "-timeout", "menu-force", "-verify", "off", "-root", menuTree(t))
			if rc != 0 || len(f.loads) != 1 {
				t.Fatalf("rc %d loads %d\n%s", rc, len(f.loads), log)
			}
			if got := strings.Contains(out, "\x1b[7m"); got != tc.ansi {
				t.Errorf("reverse video %v, want %v: %q", got, tc.ansi, out)
			}
			if !tc.ansi && strings.Contains(out, "\x1b") {
				t.Errorf("an escape byte with TERM=%q: %q", tc.term, out)
			}
		})
	}
}

// Under -dry-run the menu's b and o change nothing either: they say what
// would happen and exit 0 without rebooting or powering off.
func TestMenuDryRunDoesNotPowerOff(t *testing.T) {
	for _, tc := range []struct {
		name, key, want string
	}{
		{"b says it would reboot", "b", "dry run: would reboot"},
		{"o says it would power off", "o", "dry run: would power off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			rc, out, log := runMenuWith(t, f, tc.key, "-dry-run", "-timeout", "menu-force", "-verify", "off", "-root", menuTree(t))
			if rc != 0 || len(f.powered) != 0 || len(f.loads) != 0 {
				t.Fatalf("rc %d, reboot(2) commands %v, loads %d\n%s\n%s", rc, f.powered, len(f.loads), out, log)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// The menu with no entry says where it looked, in -list's words.
func TestMenuWithoutEntriesSaysWhereItLooked(t *testing.T) {
	empty := t.TempDir()
	f := &fakeSystem{platform: noPlatform(t)}
	rc, out, log := runMenuWith(t, f, "o", "-dry-run", "-verify", "off", "-root", empty)
	if rc != 0 {
		t.Fatalf("rc %d\n%s\n%s", rc, out, log)
	}
	want := "no boot entries in " + empty + ": looked for /loader/entries/*.conf and /EFI/Linux/*.efi on each"
	if !strings.Contains(strings.Join(strings.Fields(out), " "), want) { // the menu wraps long lines
		t.Errorf("the menu lacks %q:\n%s", want, out)
	}
}
