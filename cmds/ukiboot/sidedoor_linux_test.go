package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMenuRawModeHasNoSignalKeys: in the menu's raw mode Ctrl-C, Ctrl-\
// and Ctrl-Z are bytes, not signals (SIGQUIT would end ukiboot without
// closing the shell door).
func TestMenuRawModeHasNoSignalKeys(t *testing.T) {
	_, slave := openPty(t, 24, 80)
	term := newTerminal(slave)
	term.raw()
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ISIG != 0 {
		t.Errorf("raw mode keeps ISIG: Ctrl-\\ sends SIGQUIT")
	}
	term.restore()
	if tio, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); tio.Lflag&unix.ISIG == 0 {
		t.Errorf("restore does not give ISIG back")
	}
}

// TestEndSignalsAreCaught: every signal a console or a kill sends to end
// ukiboot reaches the watcher (which closes the shell door) instead of
// killing it.
func TestEndSignalsAreCaught(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGTSTP} {
		t.Run(sig.String(), func(t *testing.T) {
			c := make(chan os.Signal, 1)
			stop := notifyEndSignals(c)
			defer stop()
			if err := unix.Kill(unix.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			if got := <-c; got != sig {
				t.Errorf("got %v, want %v", got, sig)
			}
		})
	}
}
