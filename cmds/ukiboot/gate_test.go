package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// TestIsShellGate: ukiboot is a shell gate when started as defaultsh or
// sh, whether os.Args[0] says so (a link to a ukiboot binary) or only the
// kernel's argv[0] does (u-root's busybox rewrote os.Args[0]).
func TestIsShellGate(t *testing.T) {
	for _, c := range []struct {
		name            string
		argv0, cmdArgv0 string
		want            bool
	}{
		{"init's /bin/defaultsh through the busybox", "/bbin/ukiboot", "/bin/defaultsh", true},
		{"init's /bin/sh through the busybox", "/bbin/ukiboot", "/bin/sh", true},
		{"a link named sh to a ukiboot binary", "sh", "", true},
		{"init's uinit", "/bbin/ukiboot", "/bin/uinit", false},
		{"the supervisor's child", "/bbin/ukiboot", "/bbin/ukiboot", false},
		{"ukiboot by its name, no /proc", "ukiboot", "", false},
		{"a shell whose name ends in sh", "/bbin/gosh", "/bin/gosh", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := isShellGate(c.argv0, c.cmdArgv0); got != c.want {
				t.Errorf("isShellGate(%q, %q) = %v, want %v", c.argv0, c.cmdArgv0, got, c.want)
			}
		})
	}
}

// TestShellGate: the gate extends the separator into PCRs 7, 11, 12 and
// 13 of every active bank before it starts the shell with all its
// arguments; without a TPM it starts the shell; a TPM it cannot open or
// extend powers the machine off and the shell never starts.
func TestShellGate(t *testing.T) {
	extends := []string{"banks", "extend 7", "extend 11", "extend 12", "extend 13", "close"}
	for _, c := range []struct {
		name    string
		tpm     *measure.Fake // nil: no TPM device node
		openErr error
		failPCR int // with tpm: this PCR's extend fails (0: none)
		execErr error
		steps   []string // exec (after the TPM's calls so far), halt
	}{
		{name: "TPM: separator, then the shell", tpm: measure.NewFake(measure.SHA256, measure.SHA384),
			steps: append(slices.Clone(extends), "exec /bbin/gosh -c echo ok")},
		{name: "no TPM: the shell", steps: []string{"exec /bbin/gosh -c echo ok"}},
		{name: "a TPM that cannot be opened: halt", openErr: errors.New("/dev/tpmrm0: device or resource busy"),
			steps: []string{"halt"}},
		{name: "an extend fails: halt", tpm: measure.NewFake(measure.SHA256), failPCR: 12,
			steps: []string{"banks", "extend 7", "extend 11", "extend 12", "halt"}},
		{name: "the shell cannot start", tpm: measure.NewFake(measure.SHA256), execErr: errors.New("no such file"),
			steps: append(slices.Clone(extends), "exec /bbin/gosh -c echo ok")},
	} {
		t.Run(c.name, func(t *testing.T) {
			var steps []string
			var log bytes.Buffer
			calls := func() []string {
				if c.tpm == nil {
					return nil
				}
				return c.tpm.Calls
			}
			g := shellGate{
				tpm: func() (measure.TPM, error) {
					switch {
					case c.openErr != nil:
						return nil, c.openErr
					case c.tpm == nil:
						return nil, measure.ErrNoTPM
					}
					if c.failPCR != 0 {
						c.tpm.FailPCR, c.tpm.FailExtend = c.failPCR, errors.New("TPM_RC_FAILURE")
					}
					return c.tpm, nil
				},
				exec: func(argv []string) error {
					steps = append(slices.Clone(calls()), "exec "+strings.Join(argv, " "))
					return c.execErr
				},
				halt: func(func(string, ...any)) { steps = append(slices.Clone(calls()), "halt") },
				logf: func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) },
			}
			if rc := g.run([]string{"-c", "echo ok"}); rc != 1 || !slices.Equal(steps, c.steps) {
				t.Errorf("rc %d, steps %q; want 1 (returned: the exec or the halt is faked), %q\n%s", rc, steps, c.steps, log.String())
			}
			if c.tpm == nil || c.failPCR != 0 {
				return
			}
			for _, pcr := range shellPCRs() {
				want := measure.Replay(c.tpm.Active, []measure.Event{measure.Separator(c.tpm.Active, pcr)})[pcr]
				for _, a := range c.tpm.Active {
					if got := c.tpm.PCRs[pcr][a]; !bytes.Equal(got, want[a]) {
						t.Errorf("PCR %d %s = %x, want the reset value extended by the separator, %x", pcr, a, got, want[a])
					}
				}
			}
		})
	}
}
