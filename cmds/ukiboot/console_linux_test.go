package main

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// detectConsole's rule, on a stdin described by hand.
func TestDetectConsole(t *testing.T) {
	serial := func(cflag uint32) func() (*unix.Termios, error) {
		return func() (*unix.Termios, error) { return &unix.Termios{Cflag: cflag}, nil }
	}
	notTTY := func() (*unix.Termios, error) { return nil, unix.ENOTTY }
	dev := func(name string) func() (string, error) { return func() (string, error) { return name, nil } }
	active := func(s string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if p != consoleActive {
				return nil, fs.ErrNotExist
			}
			return []byte(s), nil
		}
	}
	noSysfs := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	for _, c := range []struct {
		name string
		p    consoleProbe
		want string
	}{
		{"stdin not a terminal", consoleProbe{notTTY, dev("/dev/null"), noSysfs}, ""},
		{"a UART at 115200 8n1", consoleProbe{serial(unix.B115200 | unix.CS8 | unix.CREAD), dev("/dev/ttyS0"), noSysfs}, "ttyS0,115200"},
		{"7e1", consoleProbe{serial(unix.B9600 | unix.CS7 | unix.PARENB), dev("/dev/ttyS1"), noSysfs}, "ttyS1,9600e7"},
		{"odd parity", consoleProbe{serial(unix.B57600 | unix.CS8 | unix.PARENB | unix.PARODD), dev("/dev/ttyAMA0"), noSysfs}, "ttyAMA0,57600o8"},
		{"a speed that is not standard", consoleProbe{serial(unix.BOTHER | unix.CS8), dev("/dev/ttyS0"), noSysfs}, "ttyS0"},
		{"/dev/console: the last active console", consoleProbe{serial(unix.B115200 | unix.CS8), dev("/dev/console"), active("tty0 ttyS1\n")}, "ttyS1,115200"},
		{"/dev/console on a VT", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/dev/console"), active("ttyS0 tty0\n")}, ""},
		{"/dev/console without sysfs", consoleProbe{serial(unix.B115200 | unix.CS8), dev("/dev/console"), noSysfs}, ""},
		{"a virtual terminal", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/dev/tty1"), noSysfs}, ""},
		{"a pseudo-terminal", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/dev/pts/3"), noSysfs}, ""},
		{"ttynull", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/dev/console"), active("ttynull\n")}, ""},
		{"a hypervisor console: no speed", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/dev/hvc0"), noSysfs}, "hvc0"},
		{"not a device", consoleProbe{serial(unix.B38400 | unix.CS8), dev("/tmp/x"), noSysfs}, ""},
		{"no name", consoleProbe{serial(unix.B38400 | unix.CS8), func() (string, error) { return "", errors.New("no /proc") }, noSysfs}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.detect(); got != c.want {
				t.Errorf("detect() = %q, want %q", got, c.want)
			}
		})
	}
}

// The real probe on a stdin that is not a terminal finds nothing, and
// leaves the file usable.
func TestDetectConsoleOnAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := detectConsole(r); got != "" {
		t.Errorf("detectConsole(pipe) = %q, want none", got)
	}
	if got := detectConsole(nil); got != "" {
		t.Errorf("detectConsole(nil) = %q, want none", got)
	}
}
