package main

import (
	"errors"
	"slices"
	"testing"
)

// TestSupervisorRun: the door is closed after the boot ends, in a child
// or (when no child can be started) in this process; a door that cannot
// be closed halts instead of returning.
func TestSupervisorRun(t *testing.T) {
	for _, c := range []struct {
		name     string
		started  bool
		closeErr error
		rc       int
		steps    []string
	}{
		{"the child ends", true, nil, 3, []string{"child", "close"}},
		{"no child: boots in this process", false, nil, 4, []string{"child", "in process", "close"}},
		{"the door cannot be closed", true, errors.New("TPM_RC_FAILURE"), -1, []string{"child", "close", "halt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var steps []string
			s := supervisor{
				child: func(func(string, ...any)) (int, bool) { steps = append(steps, "child"); return 3, c.started },
				halt:  func(func(string, ...any)) { steps = append(steps, "halt"); panic("halted") },
			}
			rc := -1
			func() {
				defer func() { recover() }()
				rc = s.run(func() int { steps = append(steps, "in process"); return 4 },
					func(string) error { steps = append(steps, "close"); return c.closeErr }, t.Logf)
			}()
			if rc != c.rc || !slices.Equal(steps, c.steps) {
				t.Errorf("rc %d, steps %q; want %d, %q", rc, steps, c.rc, c.steps)
			}
		})
	}
}
