package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// selfSupervisor supervises ukiboot itself: the child is /proc/self/exe
// with the same argv (u-root's busybox picks the command by argv[0]) and
// supervisedEnv=1, on the same console, in the same process group.
func selfSupervisor() supervisor {
	return supervisor{
		child: func(logf func(string, ...any)) (int, bool) {
			cmd := exec.Command("/proc/self/exe")
			cmd.Args = os.Args
			cmd.Env = append(os.Environ(), supervisedEnv+"=1")
			return runSupervised(cmd, "/proc/self/oom_score_adj", logf)
		},
		halt: powerOffForever,
	}
}

// runSupervised starts cmd on this process's console, keeps this process
// out of the way while it runs (end signals caught and dropped, -1000
// written to oomScoreAdj unless ""), gives the console its settings back,
// and returns cmd's exit status, 128+n when a signal ended it; false when
// it could not be started.
func runSupervised(cmd *exec.Cmd, oomScoreAdj string, logf func(string, ...any)) (int, bool) {
	// Caught, not ignored: an ignored signal stays ignored in the child.
	// signal.Notify never blocks on the full channel: extra ones drop.
	c := make(chan os.Signal, 1)
	signal.Notify(c, endSignals()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// A killed menu leaves the console in raw mode: give init's shell
	// the console as it was.
	if tio, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		defer unix.IoctlSetTermios(0, unix.TCSETS, tio)
	}
	if err := cmd.Start(); err != nil {
		signal.Stop(c)
		logf("cannot start the boot process %s: %v", cmd.Path, err)
		return 0, false
	}
	// After Start: the child keeps the score it was started with.
	if oomScoreAdj != "" {
		if err := os.WriteFile(oomScoreAdj, []byte("-1000"), 0); err != nil {
			logf("WARNING: supervisor: %v: the OOM killer could choose it", err)
		}
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		logf("supervisor: waiting for the boot process: %v", err)
		return 1, true
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		logf("the boot process was ended by signal %d (%v)", int(ws.Signal()), ws.Signal())
		return 128 + int(ws.Signal()), true
	}
	return ws.ExitStatus(), true
}

// powerOffForever syncs and powers the machine off; if that fails it
// blocks forever: it never returns to a caller that would exit.
func powerOffForever(logf func(string, ...any)) {
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	logf("FATAL: cannot power off (%v): halting here", err)
	for {
		time.Sleep(time.Hour) // a timer, so that Go never reports a deadlock and exits
	}
}
