package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// The environment of the helper processes of TestSupervisorClosesTheDoor.
const (
	supTestDir  = "UKIBOOT_TEST_SUPERVISOR_DIR"  // where the extends are recorded
	supTestRole = "UKIBOOT_TEST_SUPERVISOR_ROLE" // supervisor or child
	supTestTPM  = "UKIBOOT_TEST_SUPERVISOR_TPM"  // the supervisor's TPM: ok, extend-fails, busy, none
	supHalted   = 99                             // the injected halt's exit status
)

// fileTPM records extends in a file, which outlives the process.
type fileTPM struct {
	path       string
	failExtend bool
}

func (f fileTPM) Banks() (measure.Banks, error)               { return measure.Banks{measure.SHA256}, nil }
func (f fileTPM) Read(pcr int, a measure.Alg) ([]byte, error) { return measure.Reset(a), nil }
func (f fileTPM) Close() error                                { return nil }
func (f fileTPM) Extend(pcr int, d measure.Digests) error {
	if f.failExtend {
		return errors.New("TPM_RC_FAILURE")
	}
	fh, err := os.OpenFile(f.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(fh, "%d\n", pcr)
	return fh.Close()
}

// TestSupervisorHelper is a helper process of TestSupervisorClosesTheDoor:
// the supervisor (ukiboot as init starts it, with a recording TPM and a
// halt that exits supHalted) or its child, the boot process, which says
// "ready PID" and waits for the end of stdin.
func TestSupervisorHelper(t *testing.T) {
	dir := os.Getenv(supTestDir)
	if dir == "" {
		t.Skip("a helper process of TestSupervisorClosesTheDoor")
	}
	o := &options{auto: true, measure: measureAuto, pcrBanks: "auto", onFailure: "shell"}
	if os.Getenv(supTestRole) == "child" {
		sys := system{tpm: func() (measure.TPM, error) { return fileTPM{path: filepath.Join(dir, "child")}, nil }}
		os.Exit(bootMode(o, sys, io.Discard, os.Stderr, func(*options, system, io.Writer, io.Writer) int {
			fmt.Printf("ready %d\n", os.Getpid())
			io.Copy(io.Discard, os.Stdin)
			return 1
		}))
	}
	sup := supervisor{
		child: func(logf func(string, ...any)) (int, bool) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSupervisorHelper$")
			cmd.Env = append(os.Environ(), supTestRole+"=child")
			return runSupervised(cmd, "", logf)
		},
		halt: func(func(string, ...any)) { os.Exit(supHalted) },
	}
	open := func() (measure.TPM, error) {
		switch os.Getenv(supTestTPM) {
		case "none":
			return nil, measure.ErrNoTPM
		case "busy":
			return nil, fmt.Errorf("/dev/tpm0: %w", syscall.EBUSY)
		}
		return fileTPM{path: filepath.Join(dir, "supervisor"), failExtend: os.Getenv(supTestTPM) == "extend-fails"}, nil
	}
	sys := system{tpm: open, supervise: sup.run}
	os.Exit(bootMode(o, sys, io.Discard, os.Stderr, func(*options, system, io.Writer, io.Writer) int {
		t.Error("the supervisor booted in its own process")
		return 0
	}))
}

// TestSupervisorClosesTheDoor: however the boot process ends (a signal
// it does not catch, as Ctrl-\ once was; SIGKILL, as the OOM killer
// sends; a plain exit), the supervisor extends the separator into PCRs 7,
// 11, 12 and 13 and exits with the boot's status; when it cannot (the
// extend fails, the TPM is busy) it halts, never exits; without a TPM
// there is nothing to close.
func TestSupervisorClosesTheDoor(t *testing.T) {
	closed := []string{"7", "11", "12", "13"}
	for _, tc := range []struct {
		name   string
		end    syscall.Signal // 0: the child exits 1 at the end of stdin
		tpm    string
		rc     int
		extend []string
	}{
		{"SIGQUIT: Go's stack dump, no deferred call", syscall.SIGQUIT, "ok", 2, closed},
		{"SIGKILL: the OOM killer", syscall.SIGKILL, "ok", 128 + 9, closed},
		{"plain exit", 0, "ok", 1, closed},
		{"the separator cannot be extended: halt", syscall.SIGKILL, "extend-fails", supHalted, nil},
		{"the TPM is busy: halt", syscall.SIGKILL, "busy", supHalted, nil},
		{"no TPM: nothing to close", syscall.SIGKILL, "none", 128 + 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSupervisorHelper$")
			cmd.Env = append(os.Environ(), supTestDir+"="+dir, supTestTPM+"="+tc.tpm)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := readyPID(t, stdout)
			if tc.end != 0 {
				if err := syscall.Kill(pid, tc.end); err != nil {
					t.Fatal(err)
				}
			}
			stdin.Close()
			io.Copy(io.Discard, stdout)
			cmd.Wait()
			if rc := cmd.ProcessState.ExitCode(); rc != tc.rc {
				t.Errorf("supervisor's exit status %d, want %d; stderr:\n%s", rc, tc.rc, stderr.String())
			}
			b, _ := os.ReadFile(filepath.Join(dir, "supervisor"))
			if got := strings.Fields(string(b)); !slices.Equal(got, tc.extend) {
				t.Errorf("the supervisor extended PCRs %q, want %q; stderr:\n%s", got, tc.extend, stderr.String())
			}
		})
	}
}

// readyPID reads the child's "ready PID" line.
func readyPID(t *testing.T, r io.Reader) int {
	t.Helper()
	s := bufio.NewScanner(r)
	for s.Scan() {
		if p, ok := strings.CutPrefix(s.Text(), "ready "); ok {
			pid, err := strconv.Atoi(p)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("the boot process never said it was ready")
	return 0
}
