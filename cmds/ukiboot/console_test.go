package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/conform"
)

// -console takes auto, off or a console as the kernel's console= takes it;
// anything else exits 2 before any disk is scanned.
func TestConsoleFlagValues(t *testing.T) {
	for _, c := range []struct {
		name, value string
		ok          bool
		says        string
	}{
		{"auto", "auto", true, ""},
		{"off", "off", true, ""},
		{"a UART with its speed", "ttyS1,115200", true, ""},
		{"speed, parity and bits", "ttyS0,115200n8", true, ""},
		{"a name alone", "hvc0", true, ""},
		{"an I/O port", "uart8250,io,0x3f8,115200", true, ""},
		{"empty", "", false, "is empty"},
		{"console= given too", "console=ttyS0", false, "without console="},
		{"a space smuggling a parameter", "ttyS0 init=/bin/sh", false, "is not allowed"},
		{"a quote", `ttyS0,115200"`, false, "is not allowed"},
		{"a name starting with a digit", "0tty", false, "must start with a letter"},
		{"no name", ",115200", false, "no name"},
		{"too long", "ttyS0," + strings.Repeat("1", 64), false, "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkConsoleFlag(c.value)
			if (err == nil) != c.ok || (err != nil && !strings.Contains(err.Error(), c.says)) {
				t.Fatalf("checkConsoleFlag(%q) = %v, want ok=%v saying %q", c.value, err, c.ok, c.says)
			}
			if c.ok {
				return
			}
			f := &fakeSystem{}
			var stdout, stderr bytes.Buffer
			scanned := false
			sys := f.sys()
			sys.roots = func(*options, func(string, ...any)) (*partitions, error) {
				scanned = true
				return nil, nil
			}
			if rc := runWith([]string{"-auto", "-dry-run", "-console", c.value}, &stdout, &stderr, sys); rc != 2 || scanned || !strings.Contains(stderr.String(), "-console") {
				t.Errorf("rc %d, scanned %v, stderr %q; want 2, no scan, a message naming -console", rc, scanned, stderr.String())
			}
		})
	}
}

// consoleValue: off gives nothing, an explicit console is given as is,
// auto the detected console (ConsoleAppend is followed).
func TestConsoleValue(t *testing.T) {
	if !conform.Follows(conform.ConsoleAppend) {
		t.Fatal("ukiboot is meant to follow ConsoleAppend early")
	}
	detected := func() string { return "ttyS0,115200" }
	for _, c := range []struct {
		name, flag string
		detect     func() string
		want       string
	}{
		{"auto: what was detected", "auto", detected, "ttyS0,115200"},
		{"auto, nothing detected", "auto", func() string { return "" }, ""},
		{"auto, a detected value that is no console", "auto", func() string { return "ttyS0 init=/bin/sh" }, ""},
		{"off", "off", detected, ""},
		{"explicit", "ttyS1,9600", detected, "ttyS1,9600"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := consoleValue(c.flag, c.detect); got != c.want {
				t.Errorf("consoleValue(%q) = %q, want %q", c.flag, got, c.want)
			}
		})
	}
}

// The console reaches the plan: -console ttyS1,115200 is appended to a
// command line without console=, -console off appends nothing, and auto
// with a stdin that is no terminal (as in these tests) appends nothing.
func TestConsoleInThePlan(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "a.efi", "a", "1", "quiet", "KA")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"explicit", []string{"-console", "ttyS1,115200"}, "cmdline:  quiet console=ttyS1,115200\n"},
		{"off", []string{"-console", "off"}, "cmdline:  quiet\n"},
		{"auto without a terminal", nil, "cmdline:  quiet\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{}
			var stdout, stderr bytes.Buffer
			args := append([]string{"-auto", "-dry-run", "-root", esp}, c.args...)
			if rc := runWith(args, &stdout, &stderr, f.sys()); rc != 0 || !strings.Contains(stdout.String(), c.want) {
				t.Errorf("rc %d, plan:\n%s\nwant %q (stderr %s)", rc, stdout.String(), c.want, stderr.String())
			}
		})
	}
}
