package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/hugelgupf/vmtest/qemu"
	"github.com/hugelgupf/vmtest/qemu/qfirmware"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// What vmtest's qemu package does not do and the tests need, around it:
// the console log file and its tail on failure, an overall timeout per
// expectation, virtio-blk disks, OVMF with Secure Boot, SMBIOS strings, a
// TPM (swtpm).

// VMOptions say what qemu boots.
type VMOptions struct {
	Kernel    string   // -kernel (optional with firmware that boots from disk)
	Initramfs string   // -initrd (optional)
	Append    string   // kernel command line (see Stage1Cmdline)
	Disks     []string // raw images, attached as virtio-blk (vda, vdb, ...)
	AHCIDisks []string // raw images on AHCI controllers (sda, ...)
	Memory    int      // MiB; default 1024
	// Timeout bounds the whole run: qemu is killed when it has not exited
	// by then. Default DefaultTimeout.
	Timeout time.Duration
	// QEMU are more vmtest options, e.g. SecureBootOVMF or SMBIOSStrings.
	QEMU []qemu.Fn
}

// DefaultTimeout is the VMOptions.Timeout used when none is given.
const DefaultTimeout = 6 * time.Minute

// BootTimeout is how long to give a boot to reach its init's first line.
// A boot takes about 7 s under TCG on an idle 2-core machine, but several
// times that when the machine is busy: timeouts only matter for failures,
// so they are generous.
const BootTimeout = 3 * time.Minute

// StepTimeout is how long to give a step within a running VM (a command's
// output, power off).
const StepTimeout = time.Minute

// tailLines is how much console output a failure shows.
const tailLines = 80

// readSlice is how long one read of the console waits before the
// expectation checks its own deadline.
const readSlice = 250 * time.Millisecond

// A VM is a qemu started by vmtest's qemu package, whose serial console
// (vmtest's go-expect Console) the test reads and types into. It is
// killed when the test ends.
type VM struct {
	t     testing.TB
	vm    *qemu.VM
	log   *consoleLog
	start time.Time

	pending []byte // console output after the last match, without '\r'
	closed  bool   // the console has ended: qemu exited

	waitOnce sync.Once
	exited   chan struct{} // closed when vmtest's Wait has returned
	exitErr  error         // valid after exited
	elapsed  time.Duration // valid after exited
}

// Boot starts qemu-system-x86_64 with vmtest (q35, TCG unless
// UKIBOOT_KVM=1, no display, no reboot, the serial console on vmtest's
// Console) and returns at once. The console is logged to a file whose
// name is printed, with the qemu command line, when the test fails.
func Boot(t testing.TB, o VMOptions) *VM {
	t.Helper()
	if o.Memory == 0 {
		o.Memory = 1024
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	log, err := newConsoleLog(t)
	if err != nil {
		t.Fatal(err)
	}
	fns := []qemu.Fn{
		qemuCommand(t),
		qemu.ArbitraryArgs("-machine", "q35", "-m", strconv.Itoa(o.Memory),
			"-display", "none", "-nodefaults", "-serial", "stdio", "-no-reboot"),
		accel(),
		qemu.WithKernel(o.Kernel),
		qemu.WithInitramfs(o.Initramfs),
		qemu.WithVMTimeout(o.Timeout),
		qemu.WithSerialOutput(log),
	}
	if o.Append != "" {
		fns = append(fns, qemu.WithAppendKernel(o.Append))
	}
	for _, d := range o.Disks {
		fns = append(fns, VirtioBlock(d))
	}
	for _, d := range o.AHCIDisks {
		fns = append(fns, qemu.IDEBlockDevice(d))
	}
	fns = append(fns, o.QEMU...)

	opts, err := qemu.OptionsFor(qemu.ArchAMD64, fns...)
	if err != nil {
		log.Close()
		t.Fatalf("qemu options: %v", err)
	}
	cmdline, err := opts.Cmdline()
	if err != nil {
		log.Close()
		t.Fatalf("qemu options: %v", err)
	}
	log.header(shellQuote(cmdline))
	v := &VM{t: t, log: log, exited: make(chan struct{})}
	v.start = time.Now()
	log.setStart(v.start)
	v.vm, err = opts.Start(context.Background())
	if err != nil {
		log.Close()
		t.Fatalf("starting qemu: %v", err)
	}
	t.Logf("qemu started (serial log %s)", log.path)
	t.Cleanup(func() {
		if !v.done() {
			v.vm.Kill()
			v.wait()
		}
		if t.Failed() {
			t.Logf("qemu command line: %s\nserial log: %s", shellQuote(v.vm.Cmdline()), log.path)
		}
	})
	return v
}

// qemuCommand is vmtest's VMTEST_QEMU when set, else qemu-system-x86_64
// from PATH (skipping the test when it is missing and
// UKIBOOT_REQUIRE_TOOLS is not 1).
func qemuCommand(t testing.TB) qemu.Fn {
	t.Helper()
	if os.Getenv("VMTEST_QEMU") != "" {
		return nil
	}
	return qemu.WithQEMUCommand(ukitest.Need(t, "qemu-system-x86_64"))
}

// accel is TCG, or KVM when UKIBOOT_KVM=1 (KVM hangs under nested
// virtualization on the project's machines).
func accel() qemu.Fn {
	if os.Getenv(KVMEnv) == "1" {
		return qemu.ArbitraryArgs("-accel", "kvm", "-cpu", "host")
	}
	return qemu.ArbitraryArgs("-accel", "tcg")
}

// VirtioBlock attaches a raw disk image as a virtio-blk PCI device
// (vmtest has IDE/AHCI disks only).
func VirtioBlock(file string) qemu.Fn {
	return func(alloc *qemu.IDAllocator, opts *qemu.Options) error {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("disk image for the VM: %w", err)
		}
		id := alloc.ID("vd")
		opts.AppendQEMU(
			"-drive", "file="+qemuEscape(file)+",format=raw,if=none,cache=unsafe,id="+id,
			"-device", "virtio-blk-pci,drive="+id)
		return nil
	}
}

// SecureBootOVMF boots OVMF with Secure Boot: vmtest's qfirmware.WithOVMF
// (the code read-only, vars writable: pass a copy of the template) on a
// machine with SMM and secure flash, which Secure Boot builds of OVMF
// need.
func SecureBootOVMF(code, vars string) qemu.Fn {
	return qemu.All(
		qemu.ArbitraryArgs("-machine", "smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"),
		qfirmware.WithOVMF(code, vars),
	)
}

// SMBIOSStrings adds SMBIOS Type 11 OEM strings, one each.
func SMBIOSStrings(values ...string) qemu.Fn {
	var args []string
	for _, v := range values {
		args = append(args, "-smbios", "type=11,value="+qemuEscape(v))
	}
	return qemu.ArbitraryArgs(args...)
}

// Expect waits until the console output after the previous match contains
// a match of the regular expression re (Go syntax; "(?m)" makes ^ and $
// match at lines), and returns the match and its submatches. It fails the
// test, showing the last lines of the console, when timeout passes or qemu
// exits first. Carriage returns are removed from the output before
// matching.
func (v *VM) Expect(re string, timeout time.Duration) []string {
	v.t.Helper()
	m, err := v.expect(re, timeout)
	if err != nil {
		v.t.Fatal(err)
	}
	return m
}

// TryExpect is Expect returning an error instead of failing the test.
func (v *VM) TryExpect(re string, timeout time.Duration) ([]string, error) {
	return v.expect(re, timeout)
}

func (v *VM) expect(re string, timeout time.Duration) ([]string, error) {
	rx, err := regexp.Compile(re)
	if err != nil {
		return nil, fmt.Errorf("Expect: %v", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		if loc := rx.FindSubmatchIndex(v.pending); loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = string(v.pending[loc[2*i]:loc[2*i+1]])
				}
			}
			v.pending = v.pending[loc[1]:]
			v.t.Logf("%6.1fs console matched %q", time.Since(v.start).Seconds(), re)
			return m, nil
		}
		if v.closed {
			v.wait()
			return nil, fmt.Errorf("qemu exited (%s) after %.1fs before the console showed %q\n%s", v.exitString(), v.elapsed.Seconds(), re, v.tail())
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("%v passed (%.1fs after boot) before the console showed %q\n%s", timeout, time.Since(v.start).Seconds(), re, v.tail())
		}
		v.readLine(min(left, readSlice))
	}
}

// readLine reads the console up to the end of a line, its end, or for at
// most d, and appends what it read to v.pending.
func (v *VM) readLine(d time.Duration) {
	s, err := v.vm.Console.Expect(expect.WithTimeout(d), untilLineEnd, expect.EOF, expect.PTSClosed)
	v.pending = append(v.pending, strings.ReplaceAll(s, "\r", "")...)
	if err == nil && !strings.HasSuffix(s, "\n") || err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		v.closed = true
	}
}

// untilLineEnd is a go-expect condition: the end of a line.
func untilLineEnd(opts *expect.ExpectOpts) error {
	opts.Matchers = append(opts.Matchers, lineEnd{})
	return nil
}

// lineEnd is a go-expect Matcher that matches at the end of each line.
type lineEnd struct{}

func (lineEnd) Match(v any) bool {
	b, ok := v.(*bytes.Buffer)
	return ok && bytes.HasSuffix(b.Bytes(), []byte("\n"))
}

func (lineEnd) Criteria() any { return "end of line" }

// tail returns the last lines of the console output, for failures.
func (v *VM) tail() string {
	lines := strings.Split(strings.TrimRight(v.log.text(), "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return fmt.Sprintf("--- last %d lines of the console (full log: %s) ---\n%s\n---", len(lines), v.log.path, strings.Join(lines, "\n"))
}

// Send types s into the serial console. A terminal sends "\r" for Enter.
// Nothing answers a program's terminal queries (such as the cursor
// position report ESC [6n): a program that waits for one hangs.
func (v *VM) Send(s string) {
	v.t.Helper()
	if _, err := v.vm.Console.Send(s); err != nil {
		v.t.Fatalf("typing %q into the console: %v\n%s", s, err, v.tail())
	}
}

// Wait waits for qemu to exit by itself and returns its exit status (nil
// for 0). It fails the test, killing qemu, when timeout passes first, or
// when qemu was killed at the VM timeout.
func (v *VM) Wait(timeout time.Duration) error {
	v.t.Helper()
	go v.wait()
	select {
	case <-v.exited:
	case <-time.After(timeout):
		v.vm.Kill()
		<-v.exited
		v.t.Fatalf("qemu did not exit within %v\n%s", timeout, v.tail())
	}
	if v.exitErr != nil && v.elapsed >= v.vm.Options.VMTimeout {
		v.t.Fatalf("qemu was killed at the VM timeout %v: %v\n%s", v.vm.Options.VMTimeout, v.exitErr, v.tail())
	}
	v.t.Logf("%6.1fs qemu exited: %s", v.elapsed.Seconds(), v.exitString())
	return v.exitErr
}

// wait runs vmtest's Wait once (it drains the console and waits for qemu)
// and records the result.
func (v *VM) wait() {
	v.waitOnce.Do(func() {
		v.exitErr = v.vm.Wait()
		v.elapsed = time.Since(v.start)
		v.log.footer(v.elapsed, v.exitString())
		close(v.exited)
	})
	<-v.exited
}

func (v *VM) done() bool {
	select {
	case <-v.exited:
		return true
	default:
		return false
	}
}

func (v *VM) exitString() string {
	if v.exitErr == nil {
		return "exit status 0"
	}
	return v.exitErr.Error()
}

// Output returns all console output so far, without carriage returns.
func (v *VM) Output() string { return v.log.text() }

// Elapsed returns the time since qemu started, or its run time once it has
// exited.
func (v *VM) Elapsed() time.Duration {
	if v.done() {
		return v.elapsed
	}
	return time.Since(v.start)
}

// LogPath returns the file the serial console is logged to.
func (v *VM) LogPath() string { return v.log.path }

// consoleLog is the vmtest serial output of a VM: kept in memory (without
// '\r') for Output and the tail on failure, and written to a file where
// each line starts with the seconds since qemu started.
type consoleLog struct {
	path string

	mu        sync.Mutex
	f         *os.File
	start     time.Time
	out       []byte
	lineStart bool
}

// newConsoleLog creates UKIBOOT_VMLOGS/<test name>.<n>.log, n counting the
// boots of the test (the first free number).
func newConsoleLog(t testing.TB) (*consoleLog, error) {
	t.Helper()
	dir := os.Getenv(LogDirEnv)
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "out", "vmlogs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	for n := 1; ; n++ {
		p := filepath.Join(dir, fmt.Sprintf("%s.%d.log", name, n))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &consoleLog{path: p, f: f, start: time.Now(), lineStart: true}, nil
	}
}

func (l *consoleLog) header(cmdline string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "# %s\n", cmdline)
}

func (l *consoleLog) setStart(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.start = t
}

func (l *consoleLog) footer(elapsed time.Duration, status string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprintf(f, "\n# qemu exited after %.1fs: %s\n", elapsed.Seconds(), status)
		f.Close()
	}
}

func (l *consoleLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stamp := fmt.Sprintf("%7.2f| ", time.Since(l.start).Seconds())
	var lb []byte
	for _, c := range p {
		if l.lineStart {
			lb = append(lb, stamp...)
		}
		lb = append(lb, c)
		l.lineStart = c == '\n'
	}
	l.f.Write(lb)
	l.out = append(l.out, bytes.ReplaceAll(p, []byte("\r"), nil)...)
	return len(p), nil
}

func (l *consoleLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

func (l *consoleLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.out)
}

// qemuEscape doubles the commas in a qemu option value.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}!#~") {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
