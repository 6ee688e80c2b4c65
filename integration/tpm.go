package integration

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/integration/internal/tpmsysfs"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// tpmBanks are the PCR banks of issue 13's measured-boot VM tests
// (swtpm_setup --pcr-banks sha1,sha256,sha384).
func tpmBanks() []string { return []string{"sha1", "sha256", "sha384"} }

// TPM is an emulated TPM 2.0 (swtpm; vmtest has none) whose state
// directory several boots may share, as a machine's TPM keeps its seeds
// (and so what was sealed to it) across reboots while its PCRs start from
// their reset values at each power on.
type TPM struct {
	Dir  string
	prev chan struct{} // closed when the swtpm of the previous boot has ended
}

// NewTPM manufactures a TPM 2.0 in a new temporary directory. With banks
// (sha1, sha256, sha384, sha512), swtpm_setup (Debian's swtpm-tools)
// manufactures it with those PCR banks active: no EK, no certificates
// (about 0.1 s of CPU), and not the machine's /etc/swtpm_setup.conf,
// which may choose other banks. Without, swtpm manufactures it itself at
// its first start, with libtpms' default banks.
func NewTPM(t testing.TB, banks ...string) *TPM {
	t.Helper()
	s := &TPM{Dir: t.TempDir()}
	if len(banks) == 0 {
		return s
	}
	setup := ukitest.Need(t, "swtpm_setup")
	start := time.Now()
	c := exec.Command(setup, "--tpm2", "--tpmstate", s.Dir, "--pcr-banks", strings.Join(banks, ","), "--config", os.DevNull)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
	t.Logf("swtpm_setup --pcr-banks %s: %.1fs", strings.Join(banks, ","), time.Since(start).Seconds())
	return s
}

// SWTPM gives the VM a TPM 2.0 as swtpm sets one up by default, for one
// boot (see TPM.QEMU).
func SWTPM(t testing.TB) qemu.Fn { return NewTPM(t).QEMU(t) }

// QEMU starts swtpm on the state directory for one boot, on a control
// socket that the harness listens on already, so qemu can connect at
// once, and returns the qemu options that give the VM its TPM (TIS).
// swtpm ends when qemu disconnects or the test ends; the next call waits
// for the previous swtpm to have ended, so that its state is on disk.
// Boot the bzImage (Assets.Kernel) with it: through the PVH entry
// (Assets.Vmlinux) the kernel finds a broken ACPI table and no TPM.
func (s *TPM) QEMU(t testing.TB) qemu.Fn {
	t.Helper()
	if s.prev != nil {
		select {
		case <-s.prev:
		case <-time.After(StepTimeout):
			t.Fatalf("the swtpm of the previous boot did not end within %v after qemu", StepTimeout)
		}
	}
	swtpm := ukitest.Need(t, "swtpm")
	sock := filepath.Join(t.TempDir(), "swtpm.sock")
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
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	s.prev = done
	t.Cleanup(func() {
		c.Process.Kill()
		<-done
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

// checkBanks says whether the PCR banks a VM has (the pcr-<bank>
// directories of /sys/class/tpm/tpm0, sorted) or a prediction names are
// want, and fails the test if not.
func checkBanks(t testing.TB, where string, got, want []string) bool {
	t.Helper()
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		t.Errorf("%s: PCR banks %q, want %q (swtpm_setup --pcr-banks)", where, got, w)
		return false
	}
	return true
}

// PCRValues are PCR values by bank ("sha256") and index.
type PCRValues map[string]map[int][]byte

// Banks returns the banks, sorted.
func (p PCRValues) Banks() []string {
	return slices.Sorted(maps.Keys(p))
}

// set records one PCR value as the test inits print it, "<bank> <pcr>
// <hex>" (tpmsysfs.Line).
func (p PCRValues) set(line string) error {
	bank, pcr, v, err := tpmsysfs.ParseLine(line)
	if err != nil {
		return err
	}
	if p[bank] == nil {
		p[bank] = map[int][]byte{}
	}
	if _, dup := p[bank][pcr]; dup {
		return fmt.Errorf("PCR %s %d printed twice", bank, pcr)
	}
	p[bank][pcr] = v
	return nil
}

// PCRLines reads the PCR values printed on the console as
// "<prefix><bank> <pcr> <hex>" lines: testinit.pcrs=1 prints them with the
// prefix "testinit: pcr ", the end-to-end initrd with "E2E-PCR: " (the
// report init's REPORT-PCR lines are read by ParseReport). It is an error
// when there is none.
func PCRLines(console, prefix string) (PCRValues, error) {
	p := PCRValues{}
	for _, line := range strings.Split(console, "\n") {
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		if err := p.set(strings.TrimRight(line[i+len(prefix):], "\r")); err != nil {
			return nil, err
		}
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("no %q lines in the console output", prefix)
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
			if g, w := got[bank][i], want[bank][i]; !bytes.Equal(g, w) {
				diffs = append(diffs, fmt.Sprintf("PCR %d %s: %x, want %x", i, bank, g, w))
			}
		}
	}
	return diffs
}
