package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"golang.org/x/sys/unix"
)

// onFailureValues are the values of -on-failure: what a boot mode does
// when nothing booted.
func onFailureValues() []string { return []string{"reboot", "poweroff", "shell", "menu"} }

// bootMode runs the menu or -auto (mode) as one run of ukiboot: it opens
// the run's TPM session, closes the shell door (closeShellDoor) before
// ukiboot exits, panics or is ended by a signal in a boot mode (u-root's
// init then starts a shell), and does -on-failure when nothing booted.
// When the door must be closed (tpmRun.guard) and sys.supervise is set,
// the boot runs in a supervised child, so that the door is closed
// however the boot process ends.
func bootMode(o *options, sys system, stdout, stderr io.Writer, mode func(*options, system, io.Writer, io.Writer) int) int {
	logf := func(format string, args ...any) {
		fmt.Fprint(stderr, "ukiboot: "+printable(fmt.Sprintf(format, args...))+"\n")
	}
	if o.tpm == nil {
		o.tpm = newTPMRun(o, sys.tpm, logf)
	}
	r := o.tpm
	if r.guard && sys.supervise != nil {
		supervise := sys.supervise
		sys.supervise = nil
		return supervise(func() int { return bootMode(o, sys, stdout, stderr, mode) }, r.closeShellDoor, logf)
	}
	if sys.supervised && o.verbose {
		logf("supervised by process %d: PCRs 7, 11, 12 and 13 are closed however this one ends", os.Getppid())
	}
	if r.guard && sys.signals != nil {
		defer r.watchSignals(sys.signals, sys.die)()
	} else if !r.guard && sys.releaseSignals != nil {
		sys.releaseSignals() // nothing to close: signals end it as usual
	}
	// Runs on return and on a panic alike.
	defer r.closeShellDoor("ukiboot exits (u-root's init starts a shell)")
	rc := mode(o, sys, stdout, stderr)
	if rc == 0 || o.dryRun || o.noReboot {
		return rc
	}
	return onFailure(o, sys, stdout, stderr, logf)
}

// onFailure does what -on-failure says when a boot mode ended without
// booting, and returns the exit code. shell (the default) exits: u-root's
// init starts its shell. menu shows the menu after -auto, waiting for a
// key; after the menu, it exits as shell does. reboot and poweroff do so.
func onFailure(o *options, sys system, stdout, stderr io.Writer, logf func(string, ...any)) int {
	switch o.onFailure {
	case "menu":
		if !o.auto {
			logf("nothing booted; -on-failure menu: the menu ended, exiting")
			return 1
		}
		logf("nothing booted; -on-failure menu: showing the boot menu")
		mo := *o
		mo.auto, mo.entry = false, ""
		mo.timeout = menuTimeoutFlag{true, bls.Timeout{Kind: bls.TimeoutMenuForce}}
		return runMenu(&mo, sys, sys.stdin, stdout, stderr)
	case "reboot", "poweroff":
		cmd := unix.LINUX_REBOOT_CMD_RESTART
		if o.onFailure == "poweroff" {
			cmd = unix.LINUX_REBOOT_CMD_POWER_OFF
		}
		logf("nothing booted; -on-failure %s", o.onFailure)
		unix.Sync()
		if err := sys.power(cmd); err != nil {
			logf("-on-failure %s: %v", o.onFailure, err)
		}
		return 1
	}
	logf("nothing booted; exiting (-on-failure shell)")
	return 1
}
