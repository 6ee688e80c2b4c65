package main

import (
	"fmt"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/conform"
)

// -console: the console= that a kernel command line without one gets
// (conform.ConsoleAppend, systemd's cmdline_append_console, adopted
// early), so that a distribution UKI does not go dark on a serial-only
// server. It is appended unmeasured, under enforcement too, as the stub
// does.
const (
	consoleAuto = "auto" // the console ukiboot runs on (detectConsole)
	consoleOff  = "off"  // nothing
)

// maxConsoleLen bounds an explicit -console value; real ones
// ("ttyS0,115200n8", "uart8250,io,0x3f8,115200") are far shorter.
const maxConsoleLen = 64

// checkConsoleFlag validates -console: auto, off, or a console the
// kernel's console= takes, NAME[,OPTIONS]: NAME a letter, then letters,
// digits or '_' (ttyS1, hvc0, ttyAMA0); OPTIONS letters, digits and
// , . : _ - (115200n8, io,0x3f8). Anything else, spaces above all, could
// smuggle more parameters onto the command line.
func checkConsoleFlag(v string) error {
	switch v {
	case consoleAuto, consoleOff:
		return nil
	case "":
		return fmt.Errorf("is empty: give auto, off, or a console such as ttyS1,115200")
	}
	if rest, ok := strings.CutPrefix(v, "console="); ok {
		return fmt.Errorf("%q: give the value without console= (-console %s)", v, rest)
	}
	if len(v) > maxConsoleLen {
		return fmt.Errorf("%q: longer than %d characters", v, maxConsoleLen)
	}
	name, opts, _ := strings.Cut(v, ",")
	if name == "" {
		return fmt.Errorf("%q: not auto, off or a console NAME[,OPTIONS] such as ttyS1,115200 (no name)", v)
	}
	for i, c := range name {
		if i == 0 && !isLetter(c) {
			return fmt.Errorf("%q: not auto, off or a console NAME[,OPTIONS] such as ttyS1,115200 (the name must start with a letter)", v)
		}
		if !isLetter(c) && !isDigit(c) && c != '_' {
			return fmt.Errorf("%q: not auto, off or a console NAME[,OPTIONS] such as ttyS1,115200 (%q is not allowed in the name)", v, c)
		}
	}
	for _, c := range opts {
		if !isLetter(c) && !isDigit(c) && !strings.ContainsRune(",.:_-", c) {
			return fmt.Errorf("%q: not auto, off or a console NAME[,OPTIONS] such as ttyS1,115200 (%q is not allowed in the options)", v, c)
		}
	}
	return nil
}

func isLetter(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c rune) bool  { return c >= '0' && c <= '9' }

// console is what stub.Policy.Console gets for this run's plans.
func (p *pipeline) console() string {
	return consoleValue(p.o.console, func() string { return detectConsole(p.sys.stdin) })
}

// consoleValue resolves a valid -console value: off gives "", auto the
// detected console (when ukiboot follows conform.ConsoleAppend), anything
// else is the console given.
func consoleValue(flag string, detect func() string) string {
	switch flag {
	case consoleOff:
		return ""
	case consoleAuto:
		if !conform.Follows(conform.ConsoleAppend) {
			return ""
		}
		if v := detect(); checkConsoleFlag(v) == nil && v != consoleAuto && v != consoleOff {
			return v
		}
		return ""
	}
	return flag
}
