package main

import (
	"os"
	"strings"
	"testing"
)

// TestAdversarialFinalLockdownUnreadable: -verify auto enforces when the
// kernel is locked down. A lockdown file that exists but cannot be read
// (here a directory: EISDIR; on a real system an I/O or permission error)
// or that does not name a mode in brackets says nothing about the
// lockdown: it must not count as "no lockdown" (fail closed). Only an
// absent file means the kernel has no lockdown LSM.
func TestAdversarialFinalLockdownUnreadable(t *testing.T) {
	o := &options{verify: "auto"}
	p := noPlatform(t)
	if err := os.Mkdir(p.lockdownPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if v, why, err := p.policy(o); err != nil || v.Mode.String() != "enforce" || !strings.Contains(why, "lockdown") {
		t.Errorf("unreadable lockdown file: %v %q %v; want enforce", v.Mode, why, err)
	}
	p = noPlatform(t)
	os.WriteFile(p.lockdownPath, []byte("garbage\n"), 0o644)
	if v, why, err := p.policy(o); err != nil || v.Mode.String() != "enforce" || !strings.Contains(why, "lockdown") {
		t.Errorf("unparseable lockdown file: %v %q %v; want enforce", v.Mode, why, err)
	}
	// Unchanged: no file (no lockdown LSM) and [none].
	p = noPlatform(t)
	if v, _, _ := p.policy(o); v.Mode.String() != "report" {
		t.Errorf("no lockdown file: %v, want report", v.Mode)
	}
	os.WriteFile(p.lockdownPath, []byte("[none] integrity confidentiality\n"), 0o644)
	if v, _, _ := p.policy(o); v.Mode.String() != "report" {
		t.Errorf("[none]: %v, want report", v.Mode)
	}
}
