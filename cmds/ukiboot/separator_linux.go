package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// endSignals are the signals that end ukiboot.
func endSignals() []os.Signal {
	return []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGTSTP}
}

// notifyEndSignals delivers the signals that end ukiboot (SIGINT,
// SIGTERM, SIGHUP, SIGQUIT, SIGTSTP) to c instead.
func notifyEndSignals(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, endSignals()...)
	return func() { signal.Stop(c) }
}

// earlySignals holds the end signals from main's first line on, so that
// none ends ukiboot unseen in the time before a boot mode watches them
// (flag parsing, the system's setup): notify hands them to the boot
// mode's watcher (system.signals), release gives them their default
// action back where nothing is to be closed.
type earlySignals struct{ c chan os.Signal }

// catchEndSignals starts holding the end signals (main calls it first).
func catchEndSignals() earlySignals {
	e := earlySignals{c: make(chan os.Signal, 1)}
	signal.Notify(e.c, endSignals()...)
	return e
}

// notify delivers the end signals held since main began, and those to
// come, to c until stop: it is system.signals. After stop they are held
// again, and dropped (ukiboot is ending).
func (e earlySignals) notify(c chan<- os.Signal) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-e.c:
				select {
				case c <- sig:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

// release stops holding the end signals (their default action is back)
// and lets one held meanwhile end ukiboot now (die).
func (e earlySignals) release(die func(os.Signal)) {
	signal.Stop(e.c)
	select {
	case sig := <-e.c:
		die(sig)
	default:
	}
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
