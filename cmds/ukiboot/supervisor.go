package main

// supervisedEnv, set to 1, marks the boot process a supervisor started
// (ukiboot re-executed with the same arguments): it boots and does not
// supervise again.
const supervisedEnv = "UKIBOOT_SUPERVISED"

// supervisor keeps the shell door (closeShellDoor) from depending on the
// boot process ending well: SIGKILL (the OOM killer), a Go fatal error
// (out of memory, concurrent map writes, stack overflow) or an unrecovered
// panic end a process without running a deferred call, and u-root's init
// then starts a shell. The supervisor is the process init started: it
// runs the boot in a child, does nothing else (end signals are caught and
// dropped, it cannot be chosen by the OOM killer), and whenever the child
// ends extends the separator before it exits with the child's status. A
// successful boot never comes back (kexec reboot).
type supervisor struct {
	// child runs the boot process to its end and returns its exit status
	// (128+n for a signal); ok false: it could not be started.
	child func(logf func(string, ...any)) (rc int, ok bool)
	// halt powers the machine off and never returns: the separator could
	// not be extended, and exiting would hand init's shell open PCRs.
	halt func(logf func(string, ...any))
}

// run boots in a child (inProcess when no child can be started), then
// closes the shell door (closeDoor) and returns the boot's exit status;
// when the door cannot be closed it halts instead (fail closed).
func (s supervisor) run(inProcess func() int, closeDoor func(why string) error, logf func(string, ...any)) int {
	rc, ok := s.child(logf)
	if !ok {
		logf("WARNING: no supervisor: booting in this process; a crash or SIGKILL would leave PCRs 7, 11, 12 and 13 open")
		rc = inProcess()
	}
	if err := closeDoor("ukiboot's boot process ended (u-root's init starts a shell)"); err != nil {
		logf("FATAL: %v: powering off instead of exiting to a shell that could unseal secrets sealed to the boot's PCRs", err)
		s.halt(logf)
	}
	return rc
}
