package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// consoleActive lists the kernel's consoles; the last one is the one
// /dev/console writes to.
const consoleActive = "/sys/class/tty/console/active"

// consoleProbe is what detectConsole reads; tests replace its functions.
type consoleProbe struct {
	// termios returns stdin's terminal settings; an error means stdin is
	// not a terminal.
	termios func() (*unix.Termios, error)
	// device is the file stdin is open on ("/dev/ttyS0", "/dev/console").
	device func() (string, error)
	// readFile reads consoleActive.
	readFile func(string) ([]byte, error)
}

// detectConsole is the console ukiboot runs on, as console= takes it, or
// "" when there is none to hand on. The rule:
//
//   - the terminal of stdin (the menu's console); not a terminal: none;
//   - /dev/console stands for the last console in
//     /sys/class/tty/console/active;
//   - a virtual terminal (tty0, tty1, ...): none, the kernel's default
//     console is the VT already (systemd adds none when there is graphical
//     output); a pseudo-terminal or ttynull: none, no kernel console;
//   - hvc*: the name alone;
//   - any other (a UART: ttyS0, ttyAMA0, ...): the name, a comma and the
//     speed stdin is set to, then parity and data bits unless they are
//     n8 ("ttyS0,115200", "ttyS1,9600e7"); the name alone when the speed
//     is not a standard one.
func detectConsole(stdin *os.File) string {
	if stdin == nil {
		return ""
	}
	return stdinProbe(stdin).detect()
}

// stdinProbe reads f without changing it (no Fd(), which would make it
// blocking).
func stdinProbe(f *os.File) consoleProbe {
	control := func(fn func(fd int)) error {
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(func(fd uintptr) { fn(int(fd)) })
	}
	return consoleProbe{
		termios: func() (t *unix.Termios, err error) {
			if cerr := control(func(fd int) { t, err = unix.IoctlGetTermios(fd, unix.TCGETS) }); cerr != nil {
				return nil, cerr
			}
			return t, err
		},
		device: func() (dev string, err error) {
			if cerr := control(func(fd int) { dev, err = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)) }); cerr != nil {
				return "", cerr
			}
			return dev, err
		},
		readFile: os.ReadFile,
	}
}

func (c consoleProbe) detect() string {
	tio, err := c.termios()
	if err != nil {
		return ""
	}
	dev, err := c.device()
	if err != nil {
		return ""
	}
	name, ok := strings.CutPrefix(dev, "/dev/")
	if !ok {
		return ""
	}
	if name == "console" {
		b, err := c.readFile(consoleActive)
		f := strings.Fields(string(b))
		if err != nil || len(f) == 0 {
			return ""
		}
		name = f[len(f)-1]
	}
	switch {
	case isVT(name), strings.Contains(name, "/"), name == "tty", name == "ptmx", strings.HasPrefix(name, "ttynull"):
		return ""
	case strings.HasPrefix(name, "hvc"):
		return name
	}
	if mode := lineMode(tio); mode != "" {
		return name + "," + mode
	}
	return name
}

// isVT says whether name is a virtual terminal: tty0 (the current one) to
// tty63.
func isVT(name string) bool {
	n, ok := strings.CutPrefix(name, "tty")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// baud is the standard speed a termios CBAUD value stands for, or "".
func baud(cbaud uint32) string {
	for _, b := range []struct {
		code  uint32
		speed string
	}{
		{unix.B1200, "1200"}, {unix.B2400, "2400"}, {unix.B4800, "4800"}, {unix.B9600, "9600"},
		{unix.B19200, "19200"}, {unix.B38400, "38400"}, {unix.B57600, "57600"}, {unix.B115200, "115200"},
		{unix.B230400, "230400"}, {unix.B460800, "460800"}, {unix.B500000, "500000"}, {unix.B576000, "576000"},
		{unix.B921600, "921600"}, {unix.B1000000, "1000000"}, {unix.B1152000, "1152000"}, {unix.B1500000, "1500000"},
		{unix.B2000000, "2000000"}, {unix.B2500000, "2500000"}, {unix.B3000000, "3000000"}, {unix.B3500000, "3500000"},
		{unix.B4000000, "4000000"},
	} {
		if b.code == cbaud {
			return b.speed
		}
	}
	return ""
}

// lineMode is a terminal's speed as console= writes it, with parity and
// data bits when they are not n8; "" when the speed is not a standard
// one.
func lineMode(t *unix.Termios) string {
	speed := baud(t.Cflag & unix.CBAUD)
	if speed == "" {
		return ""
	}
	parity := "n"
	if t.Cflag&unix.PARENB != 0 {
		parity = "e"
		if t.Cflag&unix.PARODD != 0 {
			parity = "o"
		}
	}
	bits := map[uint32]string{unix.CS5: "5", unix.CS6: "6", unix.CS7: "7", unix.CS8: "8"}[t.Cflag&unix.CSIZE]
	if parity == "n" && bits == "8" {
		return speed
	}
	return speed + parity + bits
}
