package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestEarlySignals: a signal caught before the boot mode watches reaches
// its watcher; release ends ukiboot by a signal held meanwhile.
func TestEarlySignals(t *testing.T) {
	e := catchEndSignals()
	if err := unix.Kill(unix.Getpid(), unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c := make(chan os.Signal, 1)
	stop := e.notify(c)
	if sig := <-c; sig != unix.SIGHUP {
		t.Errorf("the watcher got %v, want the SIGHUP sent before it watched", sig)
	}
	stop()
	e.c <- unix.SIGTERM // held after the watcher stopped
	var died []os.Signal
	e.release(func(sig os.Signal) { died = append(died, sig) })
	if len(died) != 1 || died[0] != unix.SIGTERM {
		t.Errorf("release died of %v, want SIGTERM", died)
	}
}
