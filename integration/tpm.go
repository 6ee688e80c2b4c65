package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/integration/internal/tpmsysfs"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// SWTPMOptions say how the emulated TPM is manufactured.
type SWTPMOptions struct {
	// PCRBanks, when set, are the PCR banks the TPM has active (sha1,
	// sha256, sha384, sha512): swtpm_setup (Debian's swtpm-tools)
	// manufactures the TPM with them before swtpm starts. Without it
	// swtpm manufactures the TPM itself, with libtpms' default banks.
	PCRBanks []string
}

// SWTPMWith gives the VM a TPM 2.0 on the TIS interface, emulated by swtpm
// (vmtest has no TPM): swtpm starts now, with its state in a temporary
// directory, on a control socket that the harness listens on already, so
// qemu can connect at once; it ends when qemu disconnects or the test
// ends. Boot the bzImage (Assets.Kernel) with it: through the PVH entry
// (Assets.Vmlinux) the kernel finds a broken ACPI table and no TPM.
func SWTPMWith(t testing.TB, o SWTPMOptions) qemu.Fn {
	t.Helper()
	swtpm := ukitest.Need(t, "swtpm")
	dir := t.TempDir()
	if len(o.PCRBanks) > 0 {
		swtpmSetup(t, dir, o.PCRBanks)
	}
	sock := filepath.Join(dir, "swtpm.sock")
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
	c := exec.Command(swtpm, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--ctrl", "type=unixio,fd=3", "--terminate")
	c.ExtraFiles = []*os.File{f}
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		f.Close()
		l.Close()
		t.Fatalf("starting swtpm: %v", err)
	}
	f.Close()
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
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

// swtpmSetup manufactures a TPM 2.0 in dir with banks active: no EK, no
// certificates (fast: about 0.1 s of CPU), and no configuration file of
// the machine or the user (/etc/swtpm_setup.conf picks the banks and the
// certificate tool otherwise).
func swtpmSetup(t testing.TB, dir string, banks []string) {
	t.Helper()
	setup := ukitest.Need(t, "swtpm_setup")
	args := []string{"--tpm2", "--tpmstate", dir, "--pcr-banks", strings.Join(banks, ","), "--config", os.DevNull}
	start := time.Now()
	out, err := exec.Command(setup, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("swtpm_setup %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("swtpm_setup --pcr-banks %s: %.1fs", strings.Join(banks, ","), time.Since(start).Seconds())
}

// PCRLines reads the PCR values a test init printed on the console as
// "<prefix><bank> <pcr> <hex>" lines (testinit.pcrs=1 prints them with
// the prefix "testinit: pcr "): bank -> PCR -> value.
func PCRLines(console, prefix string) (map[string]map[int][]byte, error) {
	pcrs := map[string]map[int][]byte{}
	for _, line := range strings.Split(console, "\n") {
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		bank, pcr, v, err := tpmsysfs.ParseLine(strings.TrimRight(line[i+len(prefix):], "\r"))
		if err != nil {
			return nil, err
		}
		if pcrs[bank] == nil {
			pcrs[bank] = map[int][]byte{}
		}
		if _, dup := pcrs[bank][pcr]; dup {
			return nil, fmt.Errorf("PCR %s %d printed twice", bank, pcr)
		}
		pcrs[bank][pcr] = v
	}
	return pcrs, nil
}
