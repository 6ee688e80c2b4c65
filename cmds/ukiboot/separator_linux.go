package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// notifyEndSignals delivers the signals that end ukiboot (SIGINT,
// SIGTERM, SIGHUP) to c instead.
func notifyEndSignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	return func() { signal.Stop(c) }
}

// dieOf ends the process by sig, as if it had not been caught.
func dieOf(sig os.Signal) {
	signal.Reset(sig)
	s, ok := sig.(unix.Signal)
	if !ok {
		s = unix.SIGTERM
	}
	unix.Kill(unix.Getpid(), s)
	os.Exit(128 + int(s)) // the signal was ignored when ukiboot started
}
