package integration

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// VMOptions say what qemu boots.
type VMOptions struct {
	Kernel    string   // -kernel (optional with firmware that boots from disk)
	Initramfs string   // -initrd (optional)
	Append    string   // kernel command line (see Stage1Cmdline)
	Disks     []string // raw images, attached as virtio-blk (vda, vdb, ...)
	AHCIDisks []string // raw images on the q35 AHCI controller (sda, ...), at most 6
	Memory    int      // MiB; default 1024
	// Timeout bounds the whole run: qemu is killed when it has not exited
	// by then. Default DefaultTimeout.
	Timeout time.Duration
	Extra   []string // more qemu arguments, e.g. firmware or a TPM
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

// A VM is a running qemu whose serial console the test reads and types
// into. It is killed when the test ends.
type VM struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	logPath string
	start   time.Time

	mu      sync.Mutex
	out     []byte        // console output so far, without '\r'
	pos     int           // where the next Expect starts looking
	changed chan struct{} // closed and replaced when out grows or qemu exits
	eof     bool          // qemu's output ended
	killed  string        // why the harness killed qemu, if it did

	exited  chan struct{} // closed when qemu has exited
	exitErr error         // qemu's exit status, valid after exited
	elapsed time.Duration // valid after exited
}

// Boot starts qemu-system-x86_64 (q35, TCG unless UKIBOOT_KVM=1, no
// display, no reboot, the serial console on a pipe) and returns at once.
// The console is logged to a file (LogPath) whose name is printed when the
// test fails.
func Boot(t testing.TB, o VMOptions) *VM {
	t.Helper()
	qemu := needQemu(t)
	if o.Memory == 0 {
		o.Memory = 1024
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	args := []string{
		"-machine", "q35",
		"-m", strconv.Itoa(o.Memory),
		"-nographic", "-display", "none", "-nodefaults",
		"-serial", "stdio",
		"-no-reboot",
	}
	if os.Getenv(KVMEnv) == "1" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg")
	}
	if o.Kernel != "" {
		args = append(args, "-kernel", o.Kernel)
	}
	if o.Initramfs != "" {
		args = append(args, "-initrd", o.Initramfs)
	}
	if o.Append != "" {
		args = append(args, "-append", o.Append)
	}
	for i, d := range o.Disks {
		id := fmt.Sprintf("vd%d", i)
		args = append(args,
			"-drive", "file="+qemuEscape(d)+",format=raw,if=none,cache=unsafe,id="+id,
			"-device", "virtio-blk-pci,drive="+id)
	}
	if len(o.AHCIDisks) > 6 {
		t.Fatalf("Boot: %d AHCI disks; the q35 controller has 6 ports", len(o.AHCIDisks))
	}
	for i, d := range o.AHCIDisks {
		id := fmt.Sprintf("sd%d", i)
		args = append(args,
			"-drive", "file="+qemuEscape(d)+",format=raw,if=none,cache=unsafe,id="+id,
			"-device", fmt.Sprintf("ide-hd,drive=%s,bus=ide.%d", id, i))
	}
	args = append(args, o.Extra...)

	logPath := newLogPath(t)
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(log, "# %s %s\n", qemu, shellQuote(args))

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(qemu, args...)
	cmd.Stdout, cmd.Stderr = pw, pw // qemu's own messages go to the log too
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	v := &VM{
		t:       t,
		cmd:     cmd,
		stdin:   stdin,
		logPath: logPath,
		changed: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	v.start = time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		log.Close()
		t.Fatalf("starting qemu: %v", err)
	}
	pw.Close()
	t.Logf("qemu %s (serial log %s)", shellQuote(args), logPath)

	go v.read(pr, log)
	timer := time.AfterFunc(o.Timeout, func() { v.kill(fmt.Sprintf("VM timeout %v", o.Timeout)) })
	t.Cleanup(func() {
		timer.Stop()
		v.kill("test ended")
		select {
		case <-v.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("qemu (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("serial log: %s", logPath)
		}
	})
	return v
}

// read copies qemu's output into the log and v.out until qemu exits. Each
// line of the log starts with the seconds since qemu started.
func (v *VM) read(r *os.File, log *os.File) {
	buf := make([]byte, 32*1024)
	lineStart := true
	var lb []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			stamp := fmt.Sprintf("%7.2f| ", time.Since(v.start).Seconds())
			lb = lb[:0]
			for _, c := range buf[:n] {
				if lineStart {
					lb = append(lb, stamp...)
				}
				lb = append(lb, c)
				lineStart = c == '\n'
			}
			log.Write(lb)
			v.mu.Lock()
			v.out = append(v.out, bytes.ReplaceAll(buf[:n], []byte("\r"), nil)...)
			close(v.changed)
			v.changed = make(chan struct{})
			v.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	r.Close()
	err := v.cmd.Wait()
	elapsed := time.Since(v.start)
	fmt.Fprintf(log, "\n# qemu exited after %.1fs: %v\n", elapsed.Seconds(), exitString(err))
	log.Close()
	v.mu.Lock()
	v.eof = true
	v.exitErr = err
	v.elapsed = elapsed
	close(v.changed)
	v.changed = make(chan struct{})
	v.mu.Unlock()
	close(v.exited)
}

func exitString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// kill ends qemu, if it still runs, saying why in the log of the test.
func (v *VM) kill(why string) {
	v.mu.Lock()
	if v.eof || v.killed != "" {
		v.mu.Unlock()
		return
	}
	v.killed = why
	v.mu.Unlock()
	v.cmd.Process.Kill()
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
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		v.mu.Lock()
		loc := rx.FindSubmatchIndex(v.out[v.pos:])
		if loc != nil {
			m := make([]string, len(loc)/2)
			for i := range m {
				if loc[2*i] >= 0 {
					m[i] = string(v.out[v.pos+loc[2*i] : v.pos+loc[2*i+1]])
				}
			}
			v.pos += loc[1]
			v.mu.Unlock()
			v.t.Logf("%6.1fs console matched %q", time.Since(v.start).Seconds(), re)
			return m, nil
		}
		eof, killed, changed := v.eof, v.killed, v.changed
		v.mu.Unlock()
		if eof {
			why := exitString(v.exitErr)
			if killed != "" {
				why = "killed: " + killed
			}
			return nil, fmt.Errorf("qemu exited (%s) after %.1fs before the console showed %q\n%s", why, v.elapsed.Seconds(), re, v.tail())
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("%v passed (%.1fs after boot) before the console showed %q\n%s", timeout, time.Since(v.start).Seconds(), re, v.tail())
		}
	}
}

// tail returns the last lines of the console output, for failures.
func (v *VM) tail() string {
	v.mu.Lock()
	out := string(v.out)
	v.mu.Unlock()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return fmt.Sprintf("--- last %d lines of the console (full log: %s) ---\n%s\n---", len(lines), v.logPath, strings.Join(lines, "\n"))
}

// Send types s into the serial console. A terminal sends "\r" for Enter.
// Nothing answers a program's terminal queries (such as the cursor
// position report ESC [6n): a program that waits for one hangs.
func (v *VM) Send(s string) {
	v.t.Helper()
	if _, err := io.WriteString(v.stdin, s); err != nil {
		select {
		case <-v.exited:
			v.t.Fatalf("typing %q into the console: qemu has exited (%s)\n%s", s, exitString(v.exitErr), v.tail())
		default:
			v.t.Fatalf("typing %q into the console: %v", s, err)
		}
	}
}

// Wait waits for qemu to exit by itself and returns its exit status (nil
// for 0). It fails the test, killing qemu, when timeout passes first, or
// when the harness killed qemu (VM timeout).
func (v *VM) Wait(timeout time.Duration) error {
	v.t.Helper()
	select {
	case <-v.exited:
	case <-time.After(timeout):
		v.kill(fmt.Sprintf("Wait timeout %v", timeout))
		<-v.exited
		v.t.Fatalf("qemu did not exit within %v\n%s", timeout, v.tail())
	}
	v.mu.Lock()
	killed := v.killed
	v.mu.Unlock()
	if killed != "" {
		v.t.Fatalf("qemu was killed: %s\n%s", killed, v.tail())
	}
	v.t.Logf("%6.1fs qemu exited: %s", v.elapsed.Seconds(), exitString(v.exitErr))
	return v.exitErr
}

// Output returns all console output so far, without carriage returns.
func (v *VM) Output() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return string(v.out)
}

// Elapsed returns the time since qemu started, or its run time once it has
// exited.
func (v *VM) Elapsed() time.Duration {
	select {
	case <-v.exited:
		return v.elapsed
	default:
		return time.Since(v.start)
	}
}

// LogPath returns the file the serial console is logged to.
func (v *VM) LogPath() string { return v.logPath }

// Kill stops qemu now.
func (v *VM) Kill() {
	v.kill("killed by the test")
	<-v.exited
}

var qemuVersion struct {
	sync.Mutex
	version string
}

// needQemu returns the path of qemu-system-x86_64 after checking, once,
// that it runs.
func needQemu(t testing.TB) string {
	t.Helper()
	qemu := ukitest.Need(t, "qemu-system-x86_64")
	qemuVersion.Lock()
	defer qemuVersion.Unlock()
	if qemuVersion.version == "" {
		out, err := exec.Command(qemu, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --version: %v\n%s", qemu, err, out)
		}
		qemuVersion.version, _, _ = strings.Cut(string(out), "\n")
		t.Logf("%s", qemuVersion.version)
	}
	return qemu
}

var logNames struct {
	sync.Mutex
	n map[string]int
}

// newLogPath returns a file name for the serial log of the next boot of t:
// UKIBOOT_VMLOGS/<test name>.<n>.log, n counting the boots of the test.
func newLogPath(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(LogDirEnv)
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "out", "vmlogs")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_")
	logNames.Lock()
	if logNames.n == nil {
		logNames.n = map[string]int{}
	}
	logNames.n[name]++
	n := logNames.n[name]
	logNames.Unlock()
	return filepath.Join(dir, fmt.Sprintf("%s.%d.log", name, n))
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
