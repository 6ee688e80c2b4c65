package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestEarlySignalsHandedOrReleased: the end signals main holds from its
// first line go to the boot mode's watcher when a boot mode must close
// the shell door, and are given back (their default action) by every
// run that closes nothing.
func TestEarlySignalsHandedOrReleased(t *testing.T) {
	esp := t.TempDir()
	for _, c := range []struct {
		name           string
		args           []string
		watched, freed bool
	}{
		{"-auto: watched", []string{"-auto"}, true, false},
		{"-auto -dry-run: released", []string{"-auto", "-dry-run"}, false, true},
		{"-auto -measure off: released", []string{"-auto", "-measure", "off"}, false, true},
		{"-list: released", []string{"-list"}, false, true},
		{"-inspect: released", []string{"-inspect", filepath.Join(esp, "none.efi")}, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			sys := f.sys()
			var watched, freed bool
			sys.signals = func(chan<- os.Signal) func() { watched = true; return func() {} }
			sys.die = func(os.Signal) { t.Error("died") }
			sys.releaseSignals = func() { freed = true }
			args := c.args
			if c.args[0] != "-inspect" {
				args = append(args, "-root", esp)
			}
			var stdout, stderr bytes.Buffer
			runWith(args, &stdout, &stderr, sys)
			if watched != c.watched || freed != c.freed {
				t.Errorf("signals watched %v, released %v; want %v, %v\n%s", watched, freed, c.watched, c.freed, stderr.String())
			}
		})
	}
}
