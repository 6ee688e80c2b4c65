package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// notifyEndSignals delivers the signals that end ukiboot (SIGINT,
// SIGTERM, SIGHUP, SIGQUIT, SIGTSTP) to c instead.
func notifyEndSignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGTSTP)
	return func() { signal.Stop(c) }
}

// dieOf ends the process by sig, as if it had not been caught. SIGQUIT
// and SIGTSTP end it with 128+sig instead: Go's default for SIGQUIT
// prints every goroutine's stack, and SIGTSTP would only stop it.
func dieOf(sig os.Signal) {
	s, ok := sig.(unix.Signal)
	if !ok {
		s = unix.SIGTERM
	}
	if s != unix.SIGQUIT && s != unix.SIGTSTP {
		signal.Reset(sig)
		unix.Kill(unix.Getpid(), s)
	}
	os.Exit(128 + int(s)) // the signal was ignored when ukiboot started
}
