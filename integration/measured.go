package integration

import (
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// Helpers of the measured-boot VM tests (conformance_*_test.go,
// e2e_*_test.go): a TPM whose state outlives one boot, the PCRs the booted
// kernel saw, and Go commands built static for an initrd.

// TPMBanks are the PCR banks NewTPMState activates by default: those of
// issue 13's VM tests (swtpm_setup --pcr-banks sha1,sha256,sha384).
const TPMBanks = "sha1,sha256,sha384"

// TPMState is an swtpm state directory that several boots share, as a
// machine's TPM keeps its seeds (and so what was sealed to it) across
// reboots while its PCRs start from their reset values at each power on.
type TPMState struct {
	Dir  string
	prev *exec.Cmd // the swtpm of the previous boot
}

// NewTPMState manufactures a TPM 2.0 in a new temporary directory with
// swtpm_setup, with the PCR banks given active (a comma-separated list;
// TPMBanks when empty).
func NewTPMState(t testing.TB, banks string) *TPMState {
	t.Helper()
	if banks == "" {
		banks = TPMBanks
	}
	setup := ukitest.Need(t, "swtpm_setup")
	dir := t.TempDir()
	// No EK and no certificates; --config: not the machine's
	// /etc/swtpm_setup.conf, which may choose other banks.
	c := exec.Command(setup, "--tpm2", "--tpmstate", dir, "--pcr-banks", banks, "--config", os.DevNull)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
	return &TPMState{Dir: dir}
}

// QEMU starts swtpm on the state directory for one boot and returns the
// qemu options that give the VM its TPM (TIS). swtpm ends when qemu
// disconnects; the next call waits for the previous swtpm to have ended,
// so that its state is on disk. Boot the bzImage with it (see SWTPM).
func (s *TPMState) QEMU(t testing.TB) qemu.Fn {
	t.Helper()
	if s.prev != nil {
		done := make(chan struct{})
		go func() { s.prev.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(StepTimeout):
			s.prev.Process.Kill()
			<-done
			t.Fatalf("the swtpm of the previous boot did not end within %v after qemu", StepTimeout)
		}
		s.prev = nil
	}
	swtpm := ukitest.Need(t, "swtpm")
	sockDir := t.TempDir()
	sock := filepath.Join(sockDir, "swtpm.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatalf("swtpm control socket: %v", err)
	}
	f, err := l.File()
	if err != nil {
		l.Close()
		t.Fatalf("swtpm control socket: %v", err)
	}
	var out bytes.Buffer
	c := exec.Command(swtpm, "socket", "--tpm2", "--tpmstate", "dir="+s.Dir,
		"--ctrl", "type=unixio,fd=3", "--terminate")
	c.ExtraFiles = []*os.File{f}
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		f.Close()
		l.Close()
		t.Fatalf("starting swtpm: %v", err)
	}
	f.Close()
	s.prev = c
	t.Cleanup(func() {
		c.Process.Kill()
		l.Close()
		if t.Failed() && out.Len() > 0 {
			t.Logf("swtpm said:\n%s", out.String())
		}
	})
	return qemu.ArbitraryArgs(
		"-chardev", "socket,id=chrtpm,path="+qemuEscape(sock),
		"-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
		"-device", "tpm-tis,tpmdev=tpm0")
}

// PCRValues are PCR values by bank ("sha256") and index, lower-case hex.
type PCRValues map[string]map[int]string

// Banks returns the banks, sorted.
func (p PCRValues) Banks() []string {
	var b []string
	for k := range p {
		b = append(b, k)
	}
	sort.Strings(b)
	return b
}

// ParsePCRs returns the PCR lines in console output (the first value of
// each bank and index), or an error when there is none.
func ParsePCRs(console string) (PCRValues, error) {
	// One PCR as the pcrs init (PCRS:) or the end-to-end initrd's hook
	// (E2E-PCR:) prints it.
	pcrLine := regexp.MustCompile(`(?m)^(?:PCRS|E2E-PCR): (sha1|sha256|sha384|sha512|sm3_256) (\d+) ([0-9A-Fa-f]+)$`)
	p := PCRValues{}
	for _, m := range pcrLine.FindAllStringSubmatch(strings.ReplaceAll(console, "\r", ""), -1) {
		i, err := strconv.Atoi(m[2])
		if err != nil || i > 23 {
			return nil, fmt.Errorf("PCR line %q: bad index", m[0])
		}
		if p[m[1]] == nil {
			p[m[1]] = map[int]string{}
		}
		if _, ok := p[m[1]][i]; !ok {
			p[m[1]][i] = strings.ToLower(m[3])
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("no PCR lines in the console output")
	}
	return p, nil
}

// ComparePCRs returns one line for each of the PCRs given that differs
// between got and want, in every bank of want, and for every bank of
// want that got lacks.
func ComparePCRs(got, want PCRValues, pcrs ...int) []string {
	var diffs []string
	for _, bank := range want.Banks() {
		if got[bank] == nil {
			diffs = append(diffs, fmt.Sprintf("bank %s missing", bank))
			continue
		}
		for _, i := range pcrs {
			if g, w := got[bank][i], want[bank][i]; g != w {
				diffs = append(diffs, fmt.Sprintf("PCR %d %s: %s, want %s", i, bank, g, w))
			}
		}
	}
	return diffs
}

// NeedBanks fails the test unless p has every bank of banks (a
// comma-separated list, like TPMBanks).
func NeedBanks(t testing.TB, what string, p PCRValues, banks string) {
	t.Helper()
	for _, b := range strings.Split(banks, ",") {
		if p[b] == nil {
			t.Errorf("%s: no /sys/class/tpm/tpm0/pcr-%s (banks there: %v)", what, b, p.Banks())
		}
	}
}

// PCRs waits for the pcrs init's PCRS-BEGIN ... PCRS-END and parses it.
func (v *VM) PCRs(timeout time.Duration) PCRValues {
	v.t.Helper()
	m := v.Expect(`(?s)PCRS-BEGIN\n.*?PCRS-END\n`, timeout)
	if i := strings.Index(m[0], "PCRS-ERROR: "); i >= 0 {
		v.t.Errorf("the pcrs init: %s", strings.SplitN(m[0][i:], "\n", 2)[0])
	}
	p, err := ParsePCRs(m[0])
	if err != nil {
		v.t.Fatalf("%v\n%s", err, v.tail())
	}
	return p
}

// BuildCommand builds the Go command of this module at pkg (e.g.
// "./integration/cmds/pcrs") static for linux/amd64 and returns it.
func BuildCommand(t testing.TB, pkg string) []byte {
	t.Helper()
	goCmd := ukitest.Need(t, "go")
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	c := exec.Command(goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	c.Dir = RepoRoot(t)
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// PCRSInitrd returns a newc archive whose /init is the pcrs command
// (integration/cmds/pcrs), which prints the PCRs and hands over to the
// report command at /report: ReportInitrd with the PCRs first.
func PCRSInitrd(t testing.TB, extra ...File) []byte {
	t.Helper()
	files := []File{
		{Name: "init", Data: BuildCommand(t, "./integration/cmds/pcrs"), Mode: 0o755},
		{Name: "report", Data: ReportBinary(t), Mode: 0o755},
		{Name: "dev", Mode: fs.ModeDir | 0o755},
		{Name: "dev/console", Data: []byte("5:1"), Mode: fs.ModeCharDevice | fs.ModeDevice | 0o600},
		{Name: "proc", Mode: fs.ModeDir | 0o755},
		{Name: "sys", Mode: fs.ModeDir | 0o755},
	}
	b, err := Newc(append(files, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
