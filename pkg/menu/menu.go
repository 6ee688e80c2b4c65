package menu

import (
	"fmt"
	"slices"
	"strings"
)

// Item is one menu line.
type Item struct {
	ID      string
	Title   string
	Version string
	// Bootable is false for entries that cannot be chosen; Reason says
	// why. The menu shows the Reason of the highlighted entry in full,
	// wrapped, under the list.
	Bootable bool
	Reason   string
	// Tag is a short status shown in brackets after the title, such as
	// "checking" or "untrusted"; empty means "cannot boot" for an entry
	// that is not Bootable and nothing for the others.
	Tag string
	// Cmdline is what the entry boots with, offered by the editor.
	Cmdline string
	// Editable is false when the verification policy forbids changing
	// the command line; NotEditable says why.
	Editable    bool
	NotEditable string
	// Details are extra lines for 'p' (path, verdict, signer).
	Details []string
}

// Action is what the caller must do after a key or a tick.
type Action int

const (
	None       Action = iota
	Boot              // boot Selected(), with Cmdline() if Edited()
	SetDefault        // make Selected() the default
	Rescan            // scan the disks again and call Reload
	Shell             // run a shell, then come back
	Reboot
	PowerOff
)

// Timeout modes, as loader.conf has them.
type Timeout struct {
	// Seconds counts down before the default boots; Forever waits for a
	// key (menu-force).
	Seconds int
	Forever bool
}

// Config is what the menu shows.
type Config struct {
	Items   []Item
	Default int // index, -1 when nothing can boot
	Timeout Timeout
	Editor  bool // loader.conf "editor"
	Height  int  // terminal rows; 0 means 24
	Width   int  // terminal columns; 0 means 80
	// Shell is false when the initramfs has no shell.
	Shell bool
}

// Model is the menu's state.
type Model struct {
	cfg       Config
	sel       int
	top       int
	remaining int  // seconds left in the countdown
	counting  bool // the countdown runs until a key is pressed
	message   string
	details   bool
	editing   bool
	edit      []byte
	edited    bool
}

// New starts a menu with the highlight on the default entry.
func New(cfg Config) *Model {
	if cfg.Height <= 0 {
		cfg.Height = 24
	}
	if cfg.Width <= 0 {
		cfg.Width = 80
	}
	cfg.Items = slices.Clone(cfg.Items) // Update must not write to the caller's slice
	m := &Model{cfg: cfg, sel: max(cfg.Default, 0)}
	if !cfg.Timeout.Forever && cfg.Default >= 0 {
		m.counting, m.remaining = true, cfg.Timeout.Seconds
	}
	m.scroll()
	return m
}

// Reload replaces the items (after a rescan), keeping the highlight on the
// same id when it is still there.
func (m *Model) Reload(items []Item, def int) {
	id := ""
	if m.sel < len(m.cfg.Items) {
		id = m.cfg.Items[m.sel].ID
	}
	m.cfg.Items, m.cfg.Default = slices.Clone(items), def
	m.sel = max(def, 0)
	for i, it := range items {
		if it.ID == id {
			m.sel = i
		}
	}
	m.scroll()
}

// Update replaces item i, whose verdict, tag, reason or details changed
// (a background verification finished, say), without moving the
// highlight, the scroll position, the countdown or the editor. An i out
// of range is ignored. Like every method of Model it must be called from
// the goroutine that calls Key and Tick: send verdicts to that loop over a
// channel, call Update, then draw.
func (m *Model) Update(i int, it Item) {
	if i >= 0 && i < len(m.cfg.Items) {
		m.cfg.Items[i] = it
	}
}

// Selected is the highlighted item's index.
func (m *Model) Selected() int { return m.sel }

// Edited reports whether the command line was edited for this boot.
func (m *Model) Edited() bool { return m.edited }

// Cmdline is the edited command line.
func (m *Model) Cmdline() string { return string(m.edit) }

// SetMessage shows a line under the list (a failed boot's reason, ...).
func (m *Model) SetMessage(s string) { m.message = s; m.edited = false }

// Counting reports whether the countdown still runs.
func (m *Model) Counting() bool { return m.counting }

// Tick is called once a second; it returns Boot when the countdown ends.
func (m *Model) Tick() Action {
	if !m.counting {
		return None
	}
	if m.remaining > 0 {
		m.remaining--
	}
	if m.remaining == 0 {
		m.counting = false
		if m.cfg.Default >= 0 {
			m.sel = m.cfg.Default
			return Boot
		}
	}
	return None
}

func (m *Model) rows() int { return max(m.cfg.Height-8, 3) }

func (m *Model) scroll() {
	if m.sel < m.top {
		m.top = m.sel
	}
	if m.sel >= m.top+m.rows() {
		m.top = m.sel - m.rows() + 1
	}
}

func (m *Model) move(to int) {
	if n := len(m.cfg.Items); n > 0 {
		m.sel = min(max(to, 0), n-1)
		m.scroll()
	}
}

// Key handles one key.
func (m *Model) Key(k Key) Action {
	m.counting = false
	if m.editing {
		return m.editKey(k)
	}
	if m.details {
		m.details = false
		return None
	}
	m.message = ""
	n := len(m.cfg.Items)
	switch {
	case k.Kind == KeyUp || k.Kind == KeyChar && k.Rune == 'k':
		m.move(m.sel - 1)
	case k.Kind == KeyDown || k.Kind == KeyChar && k.Rune == 'j':
		m.move(m.sel + 1)
	case k.Kind == KeyHome:
		m.move(0)
	case k.Kind == KeyEnd:
		m.move(n - 1)
	case k.Kind == KeyEnter:
		return m.boot()
	case k.Kind == KeyChar && k.Rune >= '1' && k.Rune <= '9':
		if i := int(k.Rune - '1'); i < n {
			m.move(i)
		}
	case k.Kind == KeyChar:
		return m.command(k.Rune)
	}
	return None
}

func (m *Model) current() *Item {
	if m.sel < len(m.cfg.Items) {
		return &m.cfg.Items[m.sel]
	}
	return nil
}

func (m *Model) boot() Action {
	it := m.current()
	if it == nil {
		return None
	}
	if !it.Bootable {
		m.message = fmt.Sprintf("%s cannot boot: %s", it.ID, it.Reason)
		return None
	}
	return Boot
}

func (m *Model) command(c byte) Action {
	it := m.current()
	switch c {
	case 'e':
		switch {
		case it == nil:
		case !m.cfg.Editor:
			m.message = "the editor is disabled (loader.conf: editor no)"
		case !it.Bootable:
			m.message = fmt.Sprintf("%s cannot boot: %s", it.ID, it.Reason)
		case !it.Editable:
			m.message = "the command line cannot be changed: " + it.NotEditable
		default:
			m.editing, m.edit = true, []byte(it.Cmdline)
		}
	case 'd', 'D': // both, as systemd-boot's menu_run
		if it != nil && it.Bootable {
			return SetDefault
		}
	case 'p':
		if it != nil {
			m.details = true
		}
	case 'r':
		return Rescan
	case 's':
		if m.cfg.Shell {
			return Shell
		}
		m.message = "there is no shell in this initramfs"
	case 'b':
		return Reboot
	case 'o':
		return PowerOff
	}
	return None
}

func (m *Model) editKey(k Key) Action {
	switch k.Kind {
	case KeyEnter:
		m.editing, m.edited = false, true
		return Boot
	case KeyEscape:
		m.editing = false
	case KeyBackspace:
		if len(m.edit) > 0 {
			m.edit = m.edit[:len(m.edit)-1]
		}
	case KeyChar:
		m.edit = append(m.edit, k.Rune)
	}
	return None
}

// Editing reports whether the command-line editor is open.
func (m *Model) Editing() bool { return m.editing }

// String is the view joined by newlines (for tests and logs).
func (m *Model) String() string { return strings.Join(m.View(), "\n") }
