package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/kexec"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"golang.org/x/sys/unix"
)

// recTPM is a measure.Fake whose calls go, with the boot's own steps
// (load K, unload, reboot), into one log, so that tests see their order.
// failExtends makes that many extends fail first.
type recTPM struct {
	mu          sync.Mutex
	f           *measure.Fake
	log         []string
	failExtends int
}

func newRecTPM(banks ...measure.Alg) *recTPM { return &recTPM{f: measure.NewFake(banks...)} }

func (r *recTPM) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *recTPM) Banks() (measure.Banks, error) { return r.f.Banks() }

func (r *recTPM) Read(pcr int, a measure.Alg) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Read(pcr, a)
}

func (r *recTPM) Extend(pcr int, d measure.Digests) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failExtends > 0 {
		r.failExtends--
		r.log = append(r.log, fmt.Sprintf("extend %d failed", pcr))
		return errors.New("TPM_RC_FAILURE")
	}
	r.log = append(r.log, fmt.Sprintf("extend %d", pcr))
	return r.f.Extend(pcr, d)
}

func (r *recTPM) Close() error { return nil }

func (r *recTPM) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func (r *recTPM) value(pcr int, a measure.Alg) []byte {
	v, _ := r.Read(pcr, a)
	return v
}

// sysWith is f's system with the TPM t (nil: none); loads, unloads and
// reboots go into t's log.
func sysWith(f *fakeSystem, t *recTPM) system {
	sys := f.sys()
	if t == nil {
		return sys
	}
	sys.tpm = func() (measure.TPM, error) { return t, nil }
	load, reboot := sys.load, sys.reboot
	sys.load = func(k, i *os.File, cmdline string) error {
		err := load(k, i, cmdline)
		t.note("load " + string(f.loads[len(f.loads)-1].kernel))
		return err
	}
	sys.reboot = func() error { t.note("reboot"); return reboot() }
	sys.unload = func() error { t.note("unload"); return nil }
	return sys
}

// separator is the log of the shell door closing.
var separator = []string{"extend 7", "extend 11", "extend 12", "extend 13"}

// ukiFileEvents are the extends of a ukiFile UKI booted with -verify off:
// the PCR 7 policy (policy, db, dbx, SbatLevel; no authority), then its
// four sections into PCR 11 (name, then contents, each); its .cmdline
// is used, so nothing goes into PCR 12.
func ukiFileEvents() []string {
	out := []string{"extend 7", "extend 7", "extend 7", "extend 7"}
	for range 8 {
		out = append(out, "extend 11")
	}
	return out
}

// TestRefusedLoadExtendsNothing: the kernel refused with ENOKEY leaves
// no event; the next entry's events are extended after its load and
// before the reboot; the separator follows only when ukiboot exits.
func TestRefusedLoadExtendsNothing(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-3.efi", "os", "3", "c3", "K3")
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	f := &fakeSystem{platform: noPlatform(t), refuse: map[string]error{"K3": &kexec.Error{Errno: unix.ENOKEY, InnerSignature: true}}}
	tpm := newRecTPM(measure.SHA1, measure.SHA256)
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm)); rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	want := append(append(append([]string{"load K3", "load K2"}, ukiFileEvents()...), "reboot"), separator...)
	if got := tpm.calls(); !slices.Equal(got, want) {
		t.Errorf("calls\n got %q\nwant %q\n%s", got, want, stderr.String())
	}
}

// TestMeasureRequire: a failed extend boots with -measure auto and,
// with -measure require, unloads the kernel and tries the next entry;
// without a TPM, require boots nothing.
func TestMeasureRequire(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	cases := []struct {
		name    string
		mode    string
		noTPM   bool
		rc      int
		calls   []string
		logWant string
	}{
		{"auto warns and boots", "auto", false, 0,
			[]string{"load K2", "extend 7 failed", "reboot"}, "WARNING: TPM: extended 0 of 12 events"},
		{"require unloads and tries the next entry", "require", false, 0,
			append(append([]string{"load K2", "extend 7 failed", "unload", "load K1"}, ukiFileEvents()...), "reboot"), "cannot boot os-2.efi: -measure require: TPM: extended 0 of 12 events"},
		{"require without a TPM boots nothing", "require", true, 1, nil, "-measure require, but no TPM 2.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			tpm := newRecTPM(measure.SHA256)
			tpm.failExtends = 1
			sys := sysWith(f, tpm)
			if c.noTPM {
				sys.tpm = nil
			}
			var stdout, stderr bytes.Buffer
			rc := runWith([]string{"-auto", "-measure", c.mode, "-verify", "off", "-root", esp}, &stdout, &stderr, sys)
			got := tpm.calls()
			if i := slices.Index(got, "reboot"); i >= 0 {
				got = got[:i+1] // the separator follows at exit
			}
			if rc != c.rc || !slices.Equal(got, c.calls) || !strings.Contains(stderr.String(), c.logWant) {
				t.Errorf("rc %d calls %q, want rc %d %q and a log with %q:\n%s", rc, got, c.rc, c.calls, c.logWant, stderr.String())
			}
			if c.noTPM && len(f.loads) != 0 {
				t.Errorf("loaded %d kernels without a TPM under -measure require", len(f.loads))
			}
		})
	}
}

// TestNoTPMSaidOnce: no TPM is said once per run, however many entries
// are tried, and the boot goes on.
func TestNoTPMSaidOnce(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	f := &fakeSystem{platform: noPlatform(t), refuse: map[string]error{"K2": &kexec.Error{Errno: unix.EPERM}}}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || f.booted != 1 {
		t.Fatalf("rc %d booted %d\n%s", rc, f.booted, stderr.String())
	}
	if n := strings.Count(stderr.String(), "nothing is measured"); n != 1 {
		t.Errorf("no TPM said %d times:\n%s", n, stderr.String())
	}
}

// TestNoRebootExtendsOnlyWithRequire: -no-reboot (a running OS) extends
// nothing and closes nothing, unless -measure require.
func TestNoRebootExtendsOnlyWithRequire(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	for _, c := range []struct {
		mode  string
		calls []string
	}{
		{"auto", []string{"load K1"}},
		{"require", append([]string{"load K1"}, ukiFileEvents()...)},
	} {
		t.Run(c.mode, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			tpm := newRecTPM(measure.SHA256)
			var stdout, stderr bytes.Buffer
			if rc := runWith([]string{"-auto", "-no-reboot", "-measure", c.mode, "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm)); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			if got := tpm.calls(); !slices.Equal(got, c.calls) {
				t.Errorf("calls %q, want %q\n%s", got, c.calls, stderr.String())
			}
		})
	}
}

// TestNotAtResetIsSaid: a second attempt (PCR 11 already extended) says
// the values will not be those predicted, and still extends; PCR 7 not at
// reset is the firmware's doing (SeaBIOS's separators, UEFI's Secure Boot
// state) and is said as such.
func TestNotAtResetIsSaid(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	for _, c := range []struct {
		name string
		pcr  int
		want string
	}{
		{"second attempt", 11, "TPM: PCR 11 not at the reset value (an earlier boot attempt, or a running OS)"},
		{"firmware measured PCR 7", 7, "TPM: PCR 7: the firmware measured into it already; ukiboot's events extend it from there"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			tpm := newRecTPM(measure.SHA256)
			tpm.f.Extend(c.pcr, measure.Sum(measure.Banks{measure.SHA256}, []byte("earlier")))
			var stdout, stderr bytes.Buffer
			if rc := runWith([]string{"-auto", "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm)); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			log := stderr.String()
			if !strings.Contains(log, c.want) || !strings.Contains(log, "TPM: extended 12 events") {
				t.Errorf("log lacks %q or the extends:\n%s", c.want, log)
			}
			if c.pcr == 7 && strings.Contains(log, "not at the reset value") {
				t.Errorf("PCR 7 measured by firmware called a second attempt:\n%s", log)
			}
		})
	}
}

// TestShellDoorClosed: every way to a shell in a boot mode extends the
// separator into PCRs 7, 11, 12 and 13 first, once per run; -dry-run,
// -no-reboot, -list and -measure off do not, but -no-reboot does when
// init runs ukiboot (its exit starts init's shell).
func TestShellDoorClosed(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	refused := map[string]error{"K1": &kexec.Error{Errno: unix.EPERM}}
	cases := []struct {
		name  string
		args  []string
		calls []string
		init  bool // system.initProgram
	}{
		{"-auto, nothing boots, exit to the shell", []string{"-auto"}, append([]string{"load K1"}, separator...), false},
		{"-on-failure shell given", []string{"-auto", "-on-failure", "shell"}, append([]string{"load K1"}, separator...), false},
		{"-dry-run", []string{"-auto", "-dry-run"}, nil, false},
		{"-no-reboot", []string{"-auto", "-no-reboot"}, []string{"load K1"}, false},
		{"-no-reboot, init's program", []string{"-auto", "-no-reboot"}, append([]string{"load K1"}, separator...), true},
		{"-no-reboot -measure require, init's program", []string{"-auto", "-no-reboot", "-measure", "require"}, append([]string{"load K1"}, separator...), true},
		{"-dry-run, init's program", []string{"-auto", "-dry-run"}, nil, true},
		{"-list", []string{"-list"}, nil, false},
		{"-measure off", []string{"-auto", "-measure", "off"}, []string{"load K1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t), refuse: refused}
			tpm := newRecTPM(measure.SHA1, measure.SHA256)
			var stdout, stderr bytes.Buffer
			sys := sysWith(f, tpm)
			sys.initProgram = c.init
			runWith(append(c.args, "-verify", "off", "-root", esp), &stdout, &stderr, sys)
			if got := tpm.calls(); !slices.Equal(got, c.calls) {
				t.Errorf("calls %q, want %q\n%s", got, c.calls, stderr.String())
			}
		})
	}
}

// TestSeparatorValues: the separator moves PCRs 7, 11, 12 and 13 of
// every active bank, SM3-256 included, to what an independent
// computation gives, once however often it is asked for.
func TestSeparatorValues(t *testing.T) {
	tpm := newRecTPM(measure.SHA1, measure.SHA256, measure.SM3256)
	var log bytes.Buffer
	r := newTPMRun(&options{auto: true}, func() (measure.TPM, error) { return tpm, nil }, func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) })
	for range 3 {
		if err := r.closeShellDoor("a test"); err != nil {
			t.Fatal(err)
		}
	}
	if got := tpm.calls(); !slices.Equal(got, separator) {
		t.Fatalf("calls %q", got)
	}
	sep := []byte{1, 0, 0, 0}
	d1, d256 := sha1.Sum(sep), sha256.Sum256(sep)
	want1, want256 := sha1.Sum(append(make([]byte, 20), d1[:]...)), sha256.Sum256(append(make([]byte, 32), d256[:]...))
	for _, pcr := range shellPCRs() {
		if !bytes.Equal(tpm.value(pcr, measure.SHA1), want1[:]) || !bytes.Equal(tpm.value(pcr, measure.SHA256), want256[:]) {
			t.Errorf("PCR %d: sha1 %x sha256 %x", pcr, tpm.value(pcr, measure.SHA1), tpm.value(pcr, measure.SHA256))
		}
		if bytes.Equal(tpm.value(pcr, measure.SM3256), measure.Reset(measure.SM3256)) {
			t.Errorf("PCR %d: the sm3_256 bank is still at reset", pcr)
		}
	}
}

// TestUnsupportedBankIsLoud: an active SM3-256 bank is reported, and
// -measure require refuses to boot.
func TestUnsupportedBankIsLoud(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	for _, c := range []struct {
		mode   string
		booted int
		log    string
	}{
		{"auto", 1, "WARNING: the TPM's active PCR bank sm3_256 cannot be computed by ukiboot"},
		{"require", 0, "-measure require: the TPM's active PCR bank sm3_256 cannot be computed"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			tpm := newRecTPM(measure.SHA256, measure.SM3256)
			var stdout, stderr bytes.Buffer
			runWith([]string{"-auto", "-measure", c.mode, "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm))
			if f.booted != c.booted || !strings.Contains(stderr.String(), c.log) {
				t.Errorf("booted %d, want %d; log lacks %q:\n%s", f.booted, c.booted, c.log, stderr.String())
			}
		})
	}
}

// TestSignalAndPanicCloseTheDoor: SIGTERM and a panic close the shell
// door before ukiboot ends.
func TestSignalAndPanicCloseTheDoor(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		tpm := newRecTPM(measure.SHA256)
		r := newTPMRun(&options{auto: true}, func() (measure.TPM, error) { return tpm, nil }, t.Logf)
		var c chan<- os.Signal
		died := make(chan []string, 1)
		stop := r.watchSignals(func(ch chan<- os.Signal) func() { c = ch; return func() {} }, func(os.Signal) { died <- tpm.calls() })
		defer stop()
		c <- unix.SIGTERM
		if got := <-died; !slices.Equal(got, separator) {
			t.Errorf("calls before dying %q", got)
		}
	})
	t.Run("panic", func(t *testing.T) {
		tpm := newRecTPM(measure.SHA256)
		f := &fakeSystem{platform: noPlatform(t)}
		o := &options{auto: true}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic was swallowed")
				}
			}()
			bootMode(o, sysWith(f, tpm), &bytes.Buffer{}, &bytes.Buffer{}, func(*options, system, io.Writer, io.Writer) int { panic("boom") })
		}()
		if got := tpm.calls(); !slices.Equal(got, separator) {
			t.Errorf("calls %q", got)
		}
	})
}

// TestPCRBanksList: -pcr-banks names the banks computed; of those only
// the active ones are extended, and an active bank left out is loud.
func TestPCRBanksList(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	f := &fakeSystem{platform: noPlatform(t)}
	tpm := newRecTPM(measure.SHA1, measure.SHA256)
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-pcr-banks", "sha256,sha384", "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm)); rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	log := stderr.String()
	if !strings.Contains(log, "WARNING: the TPM's active PCR bank sha1 is not in -pcr-banks sha256,sha384") || !strings.Contains(log, "TPM: extended 12 events into PCR 7, 11 (sha256)") {
		t.Errorf("log:\n%s", log)
	}
	if slices.ContainsFunc(tpm.f.Calls, func(c string) bool { return strings.Contains(c, "no sha256 digest") }) {
		t.Errorf("sha256 not extended: %q", tpm.f.Calls)
	}
}

// TestDryRunPredicts: -dry-run reads the TPM, extends nothing, and
// prints the values PCRs 7, 11, 12 and 13 will have.
func TestDryRunPredicts(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	f := &fakeSystem{platform: noPlatform(t)}
	tpm := newRecTPM(measure.SHA1, measure.SHA256)
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-dry-run", "-verify", "off", "-root", esp}, &stdout, &stderr, sysWith(f, tpm)); rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"tpm:      active banks sha1,sha256 (-measure auto; events for sha1,sha256)", "predicted PCRs (from reset):", "PCR 13 sha256 " + strings.Repeat("0", 64)} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if got := tpm.calls(); len(got) != 0 {
		t.Errorf("-dry-run changed the TPM: %q", got)
	}
}

// TestMeasurePolicyWillExtend: the plan is told the boot extends the TPM
// (so it hands on the log and the force-measure setting) exactly when it
// will; -dry-run plans as the boot would.
func TestMeasurePolicyWillExtend(t *testing.T) {
	withTPM := func() (measure.TPM, error) { return newRecTPM(measure.SHA256), nil }
	for _, c := range []struct {
		name string
		o    options
		open func() (measure.TPM, error)
		will bool
	}{
		{"boot with a TPM", options{auto: true}, withTPM, true},
		{"-dry-run with a TPM", options{auto: true, dryRun: true}, withTPM, true},
		{"no TPM", options{auto: true}, nil, false},
		{"-measure off", options{auto: true, measure: "off"}, withTPM, false},
		{"-no-reboot", options{auto: true, noReboot: true}, withTPM, false},
		{"-no-reboot -measure require", options{auto: true, noReboot: true, measure: "require"}, withTPM, true},
		{"after the menu's shell closed the door", options{}, withTPM, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.o.tpm = newTPMRun(&c.o, c.open, t.Logf)
			if strings.HasPrefix(c.name, "after the menu's shell") {
				c.o.tpm.guard = true
				if err := c.o.tpm.closeShellDoor("the menu's shell"); err != nil || !c.o.tpm.closed {
					t.Fatalf("closeShellDoor: %v", err)
				}
			}
			p := &pipeline{o: &c.o, sys: system{platform: noPlatform(t)}}
			mp := p.measurePolicy()
			if mp.Log != c.will || mp.ForceMeasure != c.will || mp.PolicyEvents == nil || len(mp.Banks) == 0 {
				t.Errorf("Log %v ForceMeasure %v banks %v, want %v", mp.Log, mp.ForceMeasure, mp.Banks, c.will)
			}
		})
	}
}
