package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// gateShell is the shell a shell gate starts: u-root's gosh in the ROM's
// busybox (argv[0] /bbin/gosh: the busybox resolves it to gosh).
const gateShell = "/bbin/gosh"

// isShellGate says whether ukiboot was started as one of the shells
// u-root's init starts after its uinit (/bin/defaultsh, then /bin/sh).
// argv0 is os.Args[0]; cmdArgv0 is argv[0] as the kernel received it
// (/proc/self/cmdline): u-root's busybox rewrites os.Args[0] to the last
// symlink of the chain (/bin/sh -> ../bbin/ukiboot -> bb gives
// /bbin/ukiboot) before ukiboot runs, so only the kernel's copy still
// says sh.
func isShellGate(argv0, cmdArgv0 string) bool {
	for _, a := range []string{argv0, cmdArgv0} {
		if a != "" && slices.Contains([]string{"defaultsh", "sh"}, filepath.Base(a)) {
			return true
		}
	}
	return false
}

// shellGate is ukiboot started as a shell (isShellGate): in the ROM,
// /bin/defaultsh and /bin/sh link to ukiboot, so that no shell u-root's
// init starts, whatever ended ukiboot before (even a signal before its Go
// runtime could catch one), runs with PCRs 7, 11, 12 and 13 open. It
// takes no flags: every argument is the shell's.
type shellGate struct {
	// tpm opens the TPM (measure.Open); nil: the machine has none.
	tpm func() (measure.TPM, error)
	// exec replaces this process with argv (argv[0] the program's path);
	// it returns only when it failed.
	exec func(argv []string) error
	// halt powers the machine off and never returns (powerOffForever).
	halt func(logf func(string, ...any))
	logf func(string, ...any)
}

// run extends the separator into PCRs 7, 11, 12 and 13 of every active
// bank (closeShellDoor) and then starts the shell with args. When a TPM
// is there but the separator cannot be extended, it halts: the shell
// never starts. It returns only when the shell could not be started.
func (g shellGate) run(args []string) int {
	r := newTPMRun(&options{}, g.tpm, g.logf)
	if err := r.closeShellDoor("the shell"); err != nil {
		g.logf("FATAL: %v: powering off instead of starting a shell that could unseal secrets sealed to the boot's PCRs", err)
		g.halt(g.logf)
		return 1
	}
	if r.tpm != nil {
		r.tpm.Close()
	}
	err := g.exec(append([]string{gateShell}, args...))
	g.logf("cannot start the shell %s: %v", gateShell, err)
	return 1
}

// gateLogf is the gate's log: on stderr, the console.
func gateLogf(w io.Writer) func(string, ...any) {
	return func(format string, args ...any) { fmt.Fprintf(w, "ukiboot (shell gate): "+format+"\n", args...) }
}
