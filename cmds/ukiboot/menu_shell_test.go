package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The shell gets every line typed while it runs, and the menu none of
// them; the Enter typed ahead together with s is dropped when the shell
// returns. (The menu used to read the console while the shell ran, and
// replay what it stole as keys: e opened the editor, Enter booted.)
func TestMenuShellGetsItsInput(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	f := &fakeSystem{platform: noPlatform(t)}
	sys := f.sys()
	sys.shell = []string{sh, "-c", "echo shell-started; exec " + sh}
	w, out, done, powered := startMenuOnPipe(t, sys, "-timeout", "menu-force", "-verify", "off", "-root", menuTree(t))
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.After(time.Minute)
		for !ok(out.String()) {
			select {
			case <-out.written:
			case rc := <-done:
				t.Fatalf("the menu ended (rc %d, %d loads) waiting for %s:\n%s", rc, len(f.loads), what, out.String())
			case <-deadline:
				t.Fatalf("timed out waiting for %s:\n%s", what, out.String())
			}
		}
	}
	waitFor("the menu", func(s string) bool { return strings.Contains(s, "s shell") })
	w.Write([]byte("s\r"))
	waitFor("the shell", func(s string) bool { return strings.Contains(s, "shell-started") })
	for i := range 5 {
		fmt.Fprintf(w, "echo line-%d\n", i)
	}
	w.Write([]byte("exit\n"))
	ran := func(s string) bool {
		for i := range 5 {
			if !strings.Contains(s, fmt.Sprintf("line-%d\n", i)) {
				return false
			}
		}
		return true
	}
	waitFor("the 5 lines and the menu after them", func(s string) bool {
		_, after, ok := strings.Cut(s, "line-4\n")
		return ran(s) && ok && strings.Contains(after, "o power off")
	})
	w.Write([]byte("o"))
	if rc := <-done; rc != 0 {
		t.Errorf("rc %d", rc)
	}
	<-powered
	if len(f.loads) != 0 {
		t.Errorf("the menu booted %d times with what was typed for the shell", len(f.loads))
	}
	if _, after, _ := strings.Cut(out.String(), "line-4\n"); strings.Contains(after, "echo") {
		t.Errorf("the menu shows what was typed for the shell:\n%s", after)
	}
}
