package measure

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// swtpmDevice starts swtpm (libtpms, a TPM 2.0 of its own) on a TPM
// manufactured with banks and returns ukiboot's TPM device for its
// command socket, as Open returns it for /dev/tpmrm0.
func swtpmDevice(t *testing.T, banks ...string) *device {
	t.Helper()
	swtpm := ukitest.Need(t, "swtpm")
	setup := ukitest.Need(t, "swtpm_setup")
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	// As integration.NewTPM: no EK, no certificates, not the machine's
	// /etc/swtpm_setup.conf.
	c := exec.Command(setup, "--tpm2", "--tpmstate", state, "--pcr-banks", strings.Join(banks, ","), "--config", os.DevNull)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
	sock := filepath.Join(dir, "tpm.sock")
	var out bytes.Buffer
	c = exec.Command(swtpm, "socket", "--tpm2",
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear", "--tpmstate", "dir="+state)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatalf("starting swtpm: %v", err)
	}
	t.Cleanup(func() {
		c.Process.Kill()
		c.Wait()
		if t.Failed() && out.Len() > 0 {
			t.Logf("swtpm said:\n%s", out.String())
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			d := &device{rw: conn, name: sock}
			t.Cleanup(func() { d.Close() })
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm's command socket: %v", err)
		}
	}
}

// TestSWTPMOracle checks the commands ukiboot encodes itself against a
// real TPM 2.0 implementation (libtpms, through swtpm): its active banks
// are the ones it was manufactured with, and PCRs extended through Extend
// read back, in every bank, as Replay computes them from zero. PCR 16 is
// the debug PCR; 11 is systemd-stub's.
func TestSWTPMOracle(t *testing.T) {
	d := swtpmDevice(t, "sha1", "sha256", "sha384")
	banks, err := d.Banks()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Banks{SHA1, SHA256, SHA384}); !slices.Equal(banks, want) {
		t.Fatalf("Banks() = %s, want %s", banks, want)
	}
	pcrs := []int{11, 16}
	if moved, err := NotAtReset(d, banks, pcrs); err != nil || len(moved) != 0 {
		t.Fatalf("a new TPM: PCRs not at reset %v (%v)", moved, err)
	}
	var events []Event
	for i, data := range []string{"one", "two", "three"} {
		events = append(events,
			Event{PCR: 16, Description: data, Digests: Sum(banks, []byte(data))},
			Event{PCR: 11, Description: data, Digests: Sum(banks, []byte(data+" at 11"))})
		if i == 1 {
			events = append(events, Separator(banks, 16))
		}
	}
	if n, err := Extend(d, events); err != nil || n != len(events) {
		t.Fatalf("Extend: %d of %d events: %v", n, len(events), err)
	}
	want := Replay(banks, events)
	for _, pcr := range pcrs {
		for _, a := range banks {
			got, err := d.Read(pcr, a)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[pcr][a]) {
				t.Errorf("PCR %d (%s) = %x, Replay says %x", pcr, a, got, want[pcr][a])
			}
		}
	}
}

// TestSWTPMErrors checks what a real TPM answers to what it must refuse:
// a bank it has not allocated reads as an empty selection, and an
// extend of a PCR it does not have is a format-1 error about handle 1.
func TestSWTPMErrors(t *testing.T) {
	d := swtpmDevice(t, "sha256")
	if v, err := d.Read(16, SHA384); err == nil || !strings.Contains(err.Error(), "is the bank active?") {
		t.Errorf("Read of a bank the TPM has not allocated = %x, %v; want an error about the selection", v, err)
	}
	err := d.Extend(30, Sum(Banks{SHA256}, []byte("x")))
	t.Logf("extend of PCR 30: %v", err)
	if err == nil || !strings.HasPrefix(err.Error(), d.name+": extending PCR 30: TPM2_PCR_Extend: TPM error 0x") ||
		!strings.HasSuffix(err.Error(), "(handle 1)") {
		t.Errorf("Extend of PCR 30: %v, want a TPM error about handle 1", err)
	}
	// The TPM still answers: nothing was left unread on the socket.
	if _, err := d.Read(16, SHA256); err != nil {
		t.Error(err)
	}
}

// TestSWTPMConcurrentExtends: extends from several goroutines (a signal's
// separator while the boot extends) each get their own command and
// response: the same event 24 times, in any order, replays to one value.
func TestSWTPMConcurrentExtends(t *testing.T) {
	d := swtpmDevice(t, "sha256")
	banks := Banks{SHA256}
	ev := Event{PCR: 16, Description: "same", Digests: Sum(banks, []byte("same"))}
	const goroutines, each = 4, 6
	errs := make(chan error, goroutines)
	for range goroutines {
		go func() {
			for range each {
				if err := d.Extend(ev.PCR, ev.Digests); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	want := Replay(banks, slices.Repeat([]Event{ev}, goroutines*each))
	got, err := d.Read(16, SHA256)
	if err != nil || !bytes.Equal(got, want[16][SHA256]) {
		t.Errorf("PCR 16 = %x, %v; want %x", got, err, want[16][SHA256])
	}
}
