package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/menu"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"golang.org/x/sys/unix"
)

// menuItems are the entries as the menu shows them at once, from headers
// and small sections: verdicts are added by withVerdict as they are
// computed. Whether the command line can be edited is decided by the
// plan's rule (stub.Editability; each UKI is read once).
func (p *pipeline) menuItems() []menu.Item {
	var out []menu.Item
	editable := stub.NewEditability(stub.Policy{Verify: p.verify, MaxSize: p.o.maxSize})
	for _, e := range p.config.Entries {
		it := menu.Item{ID: e.ID, Title: e.ShowTitle, Version: e.Version, Bootable: e.Bootable(), Cmdline: e.Cmdline, Editable: true}
		if e.Err != nil {
			it.Reason = e.Err.Error()
		}
		if e.Bootable() {
			if e.Network() {
				it.Editable, it.NotEditable = p.networkEditable()
			} else if t, err := stub.TargetOf(e); err == nil {
				it.Editable, it.NotEditable = editable.Of(t)
			}
			if p.needsCheck(e) {
				it.Tag = "checking"
			} else {
				it = withVerdict(it, p.check(e)) // reads nothing
			}
		}
		it.Details = append(it.Details, "path: "+e.FullPath())
		if e.TriesLeft >= 0 {
			it.Details = append(it.Details, fmt.Sprintf("tries: %d left, %d done", e.TriesLeft, max(e.TriesDone, 0)))
		}
		out = append(out, it)
	}
	return out
}

// networkEditable is whether the command line of a network entry can be
// edited: its UKI is not read to draw the menu, so under enforcement it
// is taken to have its own .cmdline (building its boot plan, which reads
// it, decides either way).
func (p *pipeline) networkEditable() (bool, string) {
	if p.verify.Mode == stub.VerifyEnforce {
		return false, "verification is enforced and a UKI on the network is not read before it is booted: its own .cmdline is taken"
	}
	return true, ""
}

// withVerdict is the item with what the policy says about its entry. It
// only informs: the boot verifies the private copy it loads.
func withVerdict(it menu.Item, c entryCheck) menu.Item {
	it.Tag = ""
	if c.status != "ok" {
		it.Tag = c.status
	}
	if c.err != nil && it.Bootable {
		it.Reason = c.err.Error()
	}
	it.Details = slices.DeleteFunc(slices.Clone(it.Details), func(d string) bool { return strings.HasPrefix(d, "verdict: ") })
	if c.verdict != nil {
		it.Details = append(it.Details, "verdict: "+c.verdict.String())
	}
	return it
}

// verdictMsg is one verdict computed in the background for the menu.
type verdictMsg struct {
	p     *pipeline // whose entries (a rescan starts over)
	i     int
	check entryCheck
}

// checkInBackground verifies the entries that need it and are not
// skipped, one after the other, and sends each verdict to out; it stops
// when stop is closed (a check it interrupted is not sent).
func (p *pipeline) checkInBackground(check func(*pipeline, *bls.Entry) entryCheck, skip []bool, out chan<- verdictMsg, stop <-chan struct{}) {
	for i, e := range p.config.Entries {
		if !e.Bootable() || !p.needsCheck(e) || skip[i] {
			continue
		}
		c := check(p, e)
		select {
		case <-stop:
			return
		default:
		}
		select {
		case out <- verdictMsg{p, i, c}:
		case <-stop:
			return
		}
	}
}

// menuTimeout works out the countdown: -timeout (the ROM's policy), else
// what systemd-boot's config_load_defaults makes of loader.conf,
// LoaderConfigTimeout and LoaderConfigTimeoutOneShot (bls.MenuTimeout).
// The one-shot variable forces the menu: a timeout that would hide it
// waits for a key instead. hidden means: boot the default at once unless
// a key is already waiting.
func menuTimeout(o *options, c *bls.Config) (t menu.Timeout, hidden, disabled bool) {
	lt, force := c.Vars.Timeout.Timeout, c.Vars.Timeout.OneShot
	if c.Vars.Timeout.Source == "" && c.Loader != nil {
		lt = c.Loader.Timeout
	}
	if o.timeout.set {
		lt, force = o.timeout.Timeout, false
	}
	switch {
	case lt.Kind == bls.TimeoutSeconds && lt.Seconds > 0:
		return menu.Timeout{Seconds: lt.Seconds}, false, false
	case lt.Kind == bls.TimeoutMenuForce || force:
		return menu.Timeout{Forever: true}, false, false
	case lt.Kind == bls.TimeoutMenuDisabled:
		return menu.Timeout{}, false, true
	}
	return menu.Timeout{}, true, false // 0, menu-hidden, unset
}

// terminal puts stdin into raw mode when it is a terminal.
type terminal struct {
	fd      int
	saved   *unix.Termios
	rows    int
	columns int
}

func newTerminal(f *os.File) *terminal {
	t := &terminal{fd: int(f.Fd())}
	if ws, err := unix.IoctlGetWinsize(t.fd, unix.TIOCGWINSZ); err == nil {
		t.rows, t.columns = int(ws.Row), int(ws.Col)
	}
	return t
}

func (t *terminal) raw() {
	tio, err := unix.IoctlGetTermios(t.fd, unix.TCGETS)
	if err != nil {
		return // not a terminal
	}
	if t.saved == nil {
		saved := *tio
		t.saved = &saved
	}
	// Without ISIG, Ctrl-C, Ctrl-\ and Ctrl-Z are bytes the menu ignores,
	// not signals that end ukiboot (SIGQUIT would skip every deferred
	// call).
	tio.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	unix.IoctlSetTermios(t.fd, unix.TCSETS, tio)
}

func (t *terminal) restore() {
	if t.saved != nil {
		unix.IoctlSetTermios(t.fd, unix.TCSETS, t.saved)
	}
}

// menuLoop is the menu on the console: the model, the screen it is drawn
// on, the keys, and the pipeline whose entries it shows.
type menuLoop struct {
	o      *options
	sys    system
	p      *pipeline
	m      *menu.Model
	term   *terminal
	screen *menu.Screen
	keys   *keyReader
	keyC   <-chan keyMsg // keys.C; nil once stdin is closed
	shell  []string      // the s key's command; nil: no shell
	stdin  *os.File
	stdout io.Writer
	stderr io.Writer
	logf   func(string, ...any)
	// items are what the menu shows; verdicts change them.
	items []menu.Item
	// verdicts come from checkInBackground; stopChecks ends it and
	// waits until it no longer reads the entries.
	verdicts   chan verdictMsg
	stopChecks func()
	// checked are the entries of l.p whose verdict the menu has: a
	// restart of the checks (after a failed boot) skips them.
	checked []bool
}

// startChecks verifies the pipeline's entries that have no verdict yet
// in the background. stopChecks interrupts the UKI being read.
func (l *menuLoop) startChecks() {
	l.stopChecks()
	stop, done := make(chan struct{}), make(chan struct{})
	check := l.sys.check
	if check == nil {
		check = func(p *pipeline, e *bls.Entry) entryCheck { return p.checkUntil(e, stop) }
	}
	if len(l.checked) != len(l.p.config.Entries) {
		l.checked = make([]bool, len(l.p.config.Entries))
	}
	skip := slices.Clone(l.checked)
	go func() {
		defer close(done)
		defer l.o.tpm.closeOnPanic()
		l.p.checkInBackground(check, skip, l.verdicts, stop)
	}()
	l.stopChecks = func() {
		close(stop)
		<-done
		l.stopChecks = func() {}
	}
}

// runMenu shows the boot menu on the console and boots what is chosen
// (with -dry-run: prints its plan).
func runMenu(o *options, sys system, stdin *os.File, stdout, stderr io.Writer) int {
	p, logf := startPipeline(o, sys, stdout, stderr)
	if p == nil {
		return 1
	}
	l := &menuLoop{o: o, sys: sys, p: p, stdin: stdin, stdout: stdout, stderr: stderr, logf: logf}
	defer func() { l.p.close() }()
	logf("verification: %s (%s)", p.verify.Mode, p.why)
	timeout, hidden, disabled := menuTimeout(o, p.config)
	l.term = newTerminal(stdin)
	l.keys = newKeyReader(stdin, o.tpm.closeOnPanic)
	defer l.keys.stop()
	l.keyC = l.keys.C
	l.shell = sys.shell
	if l.shell == nil {
		if sh, ok := findShell(); ok {
			l.shell = []string{sh}
		}
	}
	hasShell := len(l.shell) > 0
	l.items = p.menuItems()
	l.m = menu.New(menu.Config{
		Items: l.items, Default: p.config.Default, Timeout: timeout, Editor: p.config.Loader.Editor,
		Height: l.term.rows, Width: l.term.columns, Shell: hasShell,
	})
	l.screen = &menu.Screen{W: stdout, Rows: l.term.rows, Cols: l.term.columns, ANSI: menu.TermANSI(sys.term)}
	if len(l.items) == 0 {
		l.m.SetMessage(p.noEntries())
	}
	l.verdicts = make(chan verdictMsg)
	l.stopChecks = func() {}
	defer func() { l.stopChecks() }()

	// Hidden or disabled menu: boot the default at once, unless a key is
	// pressed within a second (hidden only). A failure shows the menu.
	// The verdicts are only for the menu: their checks start with it.
	if (hidden || disabled) && p.config.Default >= 0 {
		pressed := false
		if hidden {
			select {
			case _, pressed = <-l.keyC:
			case <-time.After(time.Second):
			}
		}
		if !pressed {
			if done, rc := l.boot(p.config.Default, false); done {
				return rc
			}
		}
	}
	if disabled && p.config.Default < 0 {
		logf("the menu is disabled and nothing can boot")
		return 1
	}
	return l.run()
}

// enter puts the terminal in raw mode and draws the menu; leave undoes
// both. They are the only places that change the terminal's mode.
func (l *menuLoop) enter() {
	l.term.raw()
	l.screen.Draw(l.m)
}

func (l *menuLoop) leave() {
	l.screen.Close()
	l.term.restore()
}

// run reads keys and ticks until something boots or the machine powers
// off, and returns the exit code.
func (l *menuLoop) run() int {
	l.startChecks()
	l.enter()
	defer l.leave()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var a menu.Action
		select {
		case k, ok := <-l.keyC:
			if !ok {
				l.keyC = nil // stdin closed: the countdown still runs
				continue
			}
			if k.gen != l.keys.gen() {
				continue // typed before the shell ran
			}
			a = l.m.Key(k.key)
		case v := <-l.verdicts:
			if v.p != l.p {
				continue // from before a rescan
			}
			l.items[v.i] = withVerdict(l.items[v.i], v.check)
			l.checked[v.i] = true
			l.m.Update(v.i, l.items[v.i])
		case <-tick.C:
			if !l.m.Counting() {
				continue
			}
			a = l.m.Tick()
		}
		if done, rc := l.act(a); done {
			return rc
		}
		l.screen.Draw(l.m)
	}
}

// act does what the menu asked for. done says the menu is over.
func (l *menuLoop) act(a menu.Action) (done bool, rc int) {
	switch a {
	case menu.Boot:
		l.leave()
		done, rc := l.boot(l.m.Selected(), l.m.Edited())
		if done {
			return true, rc
		}
		l.startChecks()
		l.term.raw()
	case menu.SetDefault:
		l.m.SetMessage(l.p.toggleDefault(l.m.Selected()))
	case menu.Rescan:
		l.rescan()
	case menu.Shell:
		l.runShell()
	case menu.Reboot, menu.PowerOff:
		l.stopChecks() // they read the partitions close unmounts
		if !l.o.dryRun {
			l.p.writeLoaderVars(l.p.loaderVarWrites(nil))
		}
		l.p.close()
		l.leave()
		cmd, what := unix.LINUX_REBOOT_CMD_RESTART, "reboot"
		if a == menu.PowerOff {
			cmd, what = unix.LINUX_REBOOT_CMD_POWER_OFF, "power off"
		}
		if l.o.dryRun {
			fmt.Fprintf(l.stdout, "dry run: would %s\n", what)
			return true, 0
		}
		unix.Sync()
		if err := l.sys.power(cmd); err != nil {
			l.logf("%s: %v", what, err)
			return true, 1
		}
		return true, 0
	}
	return false, 0
}

// boot plans entry i and commits it (with -dry-run: prints the plan).
// The terminal must be out of raw mode. done says the menu is over; else
// the menu shows why i did not boot.
func (l *menuLoop) boot(i int, edited bool) (done bool, rc int) {
	e := l.p.config.Entries[i]
	var cmdline *string
	if edited {
		c := l.m.Cmdline()
		cmdline = &c
	}
	bp, err := l.p.plan(e, cmdline)
	if err == nil {
		if !l.o.dryRun {
			l.stopChecks() // the commit renames the entry the checks read
		}
		if done, rc, err = l.p.boot(bp); done {
			return true, rc
		}
	}
	l.m.SetMessage(fmt.Sprintf("cannot boot %s: %v", e.ID, err))
	return false, 0
}

// rescan reads the partitions again.
func (l *menuLoop) rescan() {
	l.stopChecks()
	pending := l.p.pendingDefault()
	l.p.close()
	np, err := openPipeline(l.o, l.sys, l.stdout, l.logf)
	if err != nil {
		l.m.Reload(nil, -1)
		l.m.SetMessage(fmt.Sprintf("rescan: %v", err))
		return
	}
	l.p = np
	l.checked = nil
	l.items = np.menuItems()
	l.m.Reload(l.items, np.config.Default)
	if msg := np.carryDefault(pending); msg != "" {
		l.m.SetMessage(msg)
	}
	if len(l.items) == 0 {
		l.m.SetMessage(np.noEntries())
	}
	l.startChecks()
}

// runShell runs the shell on the console. The menu does not read the
// console while it runs, and drops what it read before.
func (l *menuLoop) runShell() {
	l.keys.pause()
	defer l.keys.resume()
	l.leave()
	defer l.term.raw()
	if len(l.shell) == 0 {
		return
	}
	if err := l.o.tpm.closeShellDoor("the menu's shell"); err != nil {
		l.m.SetMessage(fmt.Sprintf("shell: not started: %v", err))
		return
	}
	cmd := exec.Command(l.shell[0], l.shell[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = l.stdin, l.stdout, l.stderr
	if err := cmd.Run(); err != nil {
		l.m.SetMessage(fmt.Sprintf("shell: %v", err))
	}
}

// findShell returns the initramfs's shell, if it has one.
func findShell() (string, bool) {
	for _, p := range []string{"/bin/sh", "/bbin/gosh", "/bin/gosh", "/bbin/elvish"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	if p, err := exec.LookPath("sh"); err == nil {
		return p, true
	}
	return "", false
}
