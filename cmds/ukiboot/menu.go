package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/menu"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"golang.org/x/sys/unix"
)

// menuItems are the entries as the menu shows them. Whether the command
// line can be edited is decided by the plan's rule (stub.CmdlineEditable).
func (p *pipeline) menuItems() []menu.Item {
	var out []menu.Item
	pol := stub.Policy{Verify: p.verify, MaxSize: p.o.maxSize}
	for _, e := range p.config.Entries {
		it := menu.Item{ID: e.ID, Title: e.ShowTitle, Version: e.Version, Bootable: e.Bootable(), Cmdline: e.Cmdline, Editable: true}
		if e.Err != nil {
			it.Reason = e.Err.Error()
		}
		if e.Bootable() {
			it.Editable, it.NotEditable = stub.CmdlineEditable(e, pol)
		}
		it.Details = append(it.Details, "path: "+e.FullPath())
		if e.TriesLeft >= 0 {
			it.Details = append(it.Details, fmt.Sprintf("tries: %d left, %d done", e.TriesLeft, max(e.TriesDone, 0)))
		}
		if v := p.check(e).verdict; v != nil {
			it.Details = append(it.Details, "verdict: "+v.String())
		}
		out = append(out, it)
	}
	return out
}

// menuTimeout works out the countdown: -timeout, else loader.conf.
// hidden means: boot the default at once unless a key is already waiting.
func menuTimeout(o *options, c *bls.Config) (t menu.Timeout, hidden, disabled bool, err error) {
	lt := c.Loader.Timeout
	if o.timeout != "" {
		if d, perr := time.ParseDuration(o.timeout); perr == nil {
			lt = bls.Timeout{Kind: bls.TimeoutSeconds, Seconds: int((d + time.Second - 1) / time.Second)}
		} else if lt, err = bls.ParseTimeout(o.timeout); err != nil {
			return t, false, false, fmt.Errorf("-timeout: %v", err)
		}
	}
	switch lt.Kind {
	case bls.TimeoutMenuForce:
		return menu.Timeout{Forever: true}, false, false, nil
	case bls.TimeoutMenuDisabled:
		return menu.Timeout{}, false, true, nil
	case bls.TimeoutSeconds:
		if lt.Seconds > 0 {
			return menu.Timeout{Seconds: lt.Seconds}, false, false, nil
		}
	}
	return menu.Timeout{}, true, false, nil // 0, menu-hidden, unset
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
	tio.Lflag &^= unix.ICANON | unix.ECHO
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	unix.IoctlSetTermios(t.fd, unix.TCSETS, tio)
}

func (t *terminal) restore() {
	if t.saved != nil {
		unix.IoctlSetTermios(t.fd, unix.TCSETS, t.saved)
	}
}

// keyReader turns stdin into keys; a lone ESC becomes Escape after 50 ms.
func keyReader(r io.Reader) <-chan menu.Key {
	ch := make(chan menu.Key, 64)
	bytes := make(chan []byte)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				bytes <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				close(bytes)
				return
			}
		}
	}()
	go func() {
		var d menu.Decoder
		flush := time.NewTimer(time.Hour)
		for {
			select {
			case b, ok := <-bytes:
				if !ok {
					close(ch)
					return
				}
				for _, k := range d.Feed(b) {
					ch <- k
				}
				flush.Reset(50 * time.Millisecond)
			case <-flush.C:
				for _, k := range d.Flush() {
					ch <- k
				}
			}
		}
	}()
	return ch
}

// runMenu shows the boot menu on the console and boots what is chosen
// (with -dry-run: prints its plan).
func runMenu(o *options, sys system, stdin *os.File, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "ukiboot: "+format+"\n", args...) }
	p, err := openPipeline(o, sys, stdout, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer func() { p.close() }()
	logf("verification: %s (%s)", p.verify.Mode, p.why)
	timeout, hidden, disabled, err := menuTimeout(o, p.config)
	if err != nil {
		logf("%v", err)
		return 2
	}
	term := newTerminal(stdin)
	keys := keyReader(stdin)
	_, hasShell := findShell()
	m := menu.New(menu.Config{
		Items: p.menuItems(), Default: p.config.Default, Timeout: timeout, Editor: p.config.Loader.Editor,
		Height: term.rows, Width: term.columns, Shell: hasShell,
	})

	// boot plans and commits (or, with -dry-run, prints) entry i. done
	// says the menu is over (with rc); else err says why i did not boot.
	boot := func(i int, edited bool) (done bool, rc int, err error) {
		var cmdline *string
		if edited {
			c := m.Cmdline()
			cmdline = &c
		}
		bp, err := p.plan(p.config.Entries[i], cmdline)
		if err != nil {
			return false, 0, err
		}
		if o.dryRun {
			if err := p.dryRun(bp); err != nil {
				logf("%v", err)
				return true, 1, nil
			}
			return true, 0, nil
		}
		term.restore()
		err = p.commit(bp)
		var fatal errNotRestartable
		switch {
		case errors.As(err, &fatal):
			logf("%v", err)
			return true, 1, nil
		case err == nil:
			return true, 0, nil
		}
		return false, 0, err
	}

	// Hidden or disabled menu: boot the default at once, unless a key is
	// pressed within a second (hidden only). A failure shows the menu.
	if (hidden || disabled) && p.config.Default >= 0 {
		pressed := false
		if hidden {
			select {
			case _, pressed = <-keys:
			case <-time.After(time.Second):
			}
		}
		if !pressed {
			done, rc, err := boot(p.config.Default, false)
			if done {
				return rc
			}
			m.SetMessage(fmt.Sprintf("cannot boot %s: %v", p.config.Entries[p.config.Default].ID, err))
		}
	}
	if disabled && p.config.Default < 0 {
		logf("the menu is disabled and nothing can boot")
		return 1
	}

	term.raw()
	defer term.restore()
	draw := func() {
		fmt.Fprint(stdout, "\n"+strings.Join(m.View(), "\n"))
	}
	draw()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var a menu.Action
		select {
		case k, ok := <-keys:
			if !ok {
				keys = nil // stdin closed: the countdown still runs
				continue
			}
			wasEditing := m.Editing()
			a = m.Key(k)
			if a == menu.None {
				if wasEditing && m.Editing() {
					fmt.Fprint(stdout, "\r> "+m.Cmdline()+" \b")
				} else {
					draw()
				}
				continue
			}
		case <-tick.C:
			if !m.Counting() {
				continue
			}
			a = m.Tick()
			if a == menu.None {
				fmt.Fprint(stdout, "\r"+m.Countdown())
				continue
			}
		}
		switch a {
		case menu.Boot:
			fmt.Fprintln(stdout)
			term.restore()
			done, rc, err := boot(m.Selected(), m.Edited())
			if done {
				return rc
			}
			term.raw()
			m.SetMessage(fmt.Sprintf("cannot boot %s: %v", p.config.Entries[m.Selected()].ID, err))
		case menu.SetDefault:
			m.SetMessage(p.setDefault(p.config.Entries[m.Selected()].ID))
		case menu.Rescan:
			p.close()
			np, err := openPipeline(o, sys, stdout, logf)
			if err != nil {
				m.Reload(nil, -1)
				m.SetMessage(fmt.Sprintf("rescan: %v", err))
				break
			}
			p = np
			m.Reload(p.menuItems(), p.config.Default)
		case menu.Shell:
			term.restore()
			sh, _ := findShell()
			cmd := exec.Command(sh)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
			if err := cmd.Run(); err != nil {
				m.SetMessage(fmt.Sprintf("shell: %v", err))
			}
			term.raw()
		case menu.Reboot, menu.PowerOff:
			p.close()
			term.restore()
			cmd, what := unix.LINUX_REBOOT_CMD_RESTART, "reboot"
			if a == menu.PowerOff {
				cmd, what = unix.LINUX_REBOOT_CMD_POWER_OFF, "power off"
			}
			unix.Sync()
			if err := sys.power(cmd); err != nil {
				logf("%s: %v", what, err)
				return 1
			}
			return 0
		}
		draw()
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
