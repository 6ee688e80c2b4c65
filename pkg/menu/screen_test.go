package menu

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/vt100"
)

// longReason is a verdict the old menu cut at 79 columns.
const longReason = "verification is enforced and /EFI/Linux/arch-linux-6.12.9-zen1-1-zen.efi is not trusted: " +
	"the signature by CN=Arch Linux Secure Boot Signing Key 2026, O=Arch Linux does not chain to any certificate in db " +
	"(db holds CN=Database Key, O=Example Corp and CN=Microsoft Windows Production PCA 2011); " +
	"enroll the signer's certificate with -db or sign the UKI with a key in db"

func screenItems() []Item {
	its := items(30)
	its[2].Bootable, its[2].Reason = false, longReason
	return its
}

// twentyKeys walk the menu: into the entry that cannot boot and Enter on
// it, to the end and back, the editor and out of it with Esc, the details
// and back, and finally onto the entry that cannot boot again.
var twentyKeys = []Key{
	{Kind: KeyDown}, {Kind: KeyDown}, {Kind: KeyEnter}, {Kind: KeyDown}, {Kind: KeyEnd},
	{Kind: KeyHome}, {KeyChar, 'j'}, {KeyChar, 'e'}, {Kind: KeyBackspace}, {Kind: KeyBackspace},
	{KeyChar, ' '}, {KeyChar, 'x'}, {Kind: KeyEscape}, {KeyChar, 'p'}, {KeyChar, 'x'},
	{KeyChar, '9'}, {KeyChar, 'k'}, {Kind: KeyHome}, {Kind: KeyDown}, {Kind: KeyDown},
}

// drive draws the menu, ticks twice, then sends the keys, drawing after
// each, as the caller does.
func drive(t *testing.T, s *Screen, m *Model, keys []Key) {
	t.Helper()
	draw := func() {
		if err := s.Draw(m); err != nil {
			t.Fatal(err)
		}
	}
	draw()
	for i := 0; i < 2; i++ {
		m.Tick()
		draw()
	}
	for _, k := range keys {
		if a := m.Key(k); a != None {
			t.Fatalf("key %v: action %v", k, a)
		}
		draw()
	}
}

func words(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestScreenANSI(t *testing.T) {
	term := vt100.New(24, 80)
	s := &Screen{W: term, Rows: 24, Cols: 80, ANSI: true}
	m := New(Config{Items: screenItems(), Default: 0, Timeout: Timeout{Seconds: 5}, Editor: true})
	drive(t, s, m, twentyKeys)

	lines := term.Lines()
	if n := strings.Count(term.String(), "ukiboot: boot menu"); n != 1 {
		t.Errorf("the title shows %d times, want once:\n%s", n, term)
	}
	if rev := term.ReverseRows(); len(rev) != 1 || !strings.Contains(lines[rev[0]], "Entry 2  [cannot boot]") {
		t.Errorf("reverse video on rows %v, want only the highlighted entry:\n%s", rev, term)
	}
	for i, l := range lines {
		if width(l) > 79 {
			t.Errorf("row %d is %d columns wide: %q", i+1, width(l), l)
		}
	}
	if !strings.Contains(words(term.String()), words("cannot boot: "+longReason)) {
		t.Errorf("the whole reason is not on the screen:\n%s", term)
	}
	if term.Scrolled != 0 || len(term.Unknown) != 0 || term.CursorVisible {
		t.Errorf("scrolled %d, unknown sequences %q, cursor visible %v", term.Scrolled, term.Unknown, term.CursorVisible)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(term.String()) != "" || !term.CursorVisible || term.Row != 0 || term.Col != 0 {
		t.Errorf("after Close: cursor visible %v at %d,%d, screen:\n%s", term.CursorVisible, term.Row, term.Col, term)
	}
}

func TestScreenANSIEditorCursor(t *testing.T) {
	term := vt100.New(24, 80)
	s := &Screen{W: term, Rows: 24, Cols: 80, ANSI: true}
	m := New(Config{Items: items(2), Default: 0, Timeout: Timeout{Forever: true}, Editor: true})
	drive(t, s, m, []Key{{KeyChar, 'e'}, {KeyChar, 'x'}})
	lines := term.Lines()
	if !term.CursorVisible || lines[term.Row] != "> quietx" || term.Col != len("> quietx") {
		t.Errorf("cursor visible %v at row %d col %d, want at the end of the edited line:\n%s", term.CursorVisible, term.Row, term.Col, term)
	}
	if strings.Contains(term.String(), "boot menu") || len(term.ReverseRows()) != 0 {
		t.Errorf("the menu shows under the editor:\n%s", term)
	}
}

func TestScreenRowsAndCols(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rows, cols int
		items      []Item
		keys       []Key
	}{
		{"a long list on 80x24", 24, 80, screenItems(), []Key{{Kind: KeyDown}, {Kind: KeyDown}}},
		{"a long reason on a small terminal", 12, 40, screenItems(), []Key{{Kind: KeyDown}, {Kind: KeyDown}, {Kind: KeyEnter}}},
		{"details on a small terminal", 12, 40, screenItems(), []Key{{Kind: KeyDown}, {Kind: KeyDown}, {KeyChar, 'p'}}},
		{"the editor with a long command line", 10, 30, func() []Item {
			its := items(2)
			its[0].Cmdline = strings.Repeat("console=ttyS0,115200 ", 30)
			return its
		}(), []Key{{KeyChar, 'e'}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := vt100.New(tc.rows, tc.cols)
			s := &Screen{W: term, Rows: tc.rows, Cols: tc.cols, ANSI: true}
			m := New(Config{Items: tc.items, Default: 0, Timeout: Timeout{Forever: true}, Editor: true})
			drive(t, s, m, tc.keys)
			if term.Scrolled != 0 {
				t.Errorf("the screen scrolled %d lines:\n%s", term.Scrolled, term)
			}
			for i, l := range term.Lines() {
				if width(l) > tc.cols-1 {
					t.Errorf("row %d is %d columns wide: %q", i+1, width(l), l)
				}
			}
		})
	}
}

func TestScreenPlain(t *testing.T) {
	var out bytes.Buffer
	s := &Screen{W: &out, Rows: 24, Cols: 80}
	its := screenItems()
	its[4].Title = "evil\x1b[2J\x1b]0;title\a\x9b31m"
	m := New(Config{Items: its, Default: 0, Timeout: Timeout{Seconds: 5}, Editor: true})
	drive(t, s, m, twentyKeys)
	if i := bytes.IndexAny(out.Bytes(), "\x1b\u009b"); i >= 0 {
		t.Errorf("an escape at byte %d: %q", i, out.Bytes()[max(i-20, 0):min(i+20, out.Len())])
	}
	if !strings.Contains(words(out.String()), words("cannot boot: "+longReason)) {
		t.Errorf("the whole reason is not in the output:\n%s", out.String())
	}
	if err := s.Close(); err != nil || !strings.HasSuffix(out.String(), "\n") {
		t.Errorf("Close ends the line: %v", err)
	}
}

func TestScreenPlainPartialUpdates(t *testing.T) {
	var out bytes.Buffer
	s := &Screen{W: &out, Rows: 24, Cols: 80}
	m := New(Config{Items: items(2), Default: 0, Timeout: Timeout{Seconds: 10}, Editor: true})
	step := func(name, want string, f func()) {
		t.Helper()
		out.Reset()
		f()
		if err := s.Draw(m); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("%s: wrote %q, want %q", name, out.String(), want)
		}
	}
	step("first frame", "\n"+strings.Join(m.View(), "\n"), func() {})
	step("nothing changed", "", func() {})
	step("a tick rewrites the countdown", "\rBooting e0.conf in 9s; press any key to stop. \b", func() { m.Tick() })
	step("the editor opens", "\n\nEdit the command line, Enter boots, Esc cancels:\n> quiet", func() { m.Key(Key{KeyChar, 'e'}) })
	step("a character rewrites the line", "\r> quietx", func() { m.Key(Key{KeyChar, 'x'}) })
	step("backspace blanks the old end", "\r> quie  \b\b", func() {
		m.Key(Key{Kind: KeyBackspace})
		m.Key(Key{Kind: KeyBackspace})
	})
}

func TestUpdate(t *testing.T) {
	its := items(3)
	its[1].Tag = "checking"
	m := New(Config{Items: its, Default: 1, Timeout: Timeout{Seconds: 5}, Editor: true})
	if !strings.Contains(m.String(), "Entry 1  [checking]") {
		t.Errorf("no tag:\n%s", m)
	}
	m.Tick()
	up := its[1]
	up.Tag, up.Bootable, up.Reason = "untrusted", false, "no signature"
	m.Update(1, up)
	m.Update(7, up) // out of range: ignored
	if m.Selected() != 1 || !m.Counting() || !strings.Contains(m.Countdown(), "in 4s") {
		t.Errorf("Update moved the highlight or the countdown: sel %d, %q", m.Selected(), m.Countdown())
	}
	if v := m.String(); !strings.Contains(v, "Entry 1  [untrusted]") || !strings.Contains(v, "! cannot boot: no signature") {
		t.Errorf("the new verdict is not shown:\n%s", v)
	}
	if its[1].Tag != "checking" {
		t.Error("Update wrote to the caller's slice")
	}
	m.Key(Key{KeyChar, 'j'})
	m.Key(Key{KeyChar, 'e'})
	m.Update(0, Item{ID: "e0.conf", Title: "Entry 0 (rescanned)", Bootable: true})
	if !m.Editing() || m.Selected() != 2 {
		t.Errorf("Update closed the editor or moved: editing %v, sel %d", m.Editing(), m.Selected())
	}
}

func TestReloadEmptyUnderDetails(t *testing.T) {
	m := New(Config{Items: items(2), Default: 0})
	m.Key(Key{KeyChar, 'p'})
	m.Reload(nil, -1) // a rescan that found nothing, while the details show
	if v := m.String(); !strings.Contains(v, "(no boot entries found)") {
		t.Errorf("view:\n%s", v)
	}
}

func TestViewWrapsLongTexts(t *testing.T) {
	its := items(3)
	its[1].Bootable, its[1].Reason = false, longReason
	its[1].Details = []string{"path: " + strings.Repeat("/very-long-directory-name", 8) + "/a.efi"}
	m := New(Config{Items: its, Default: 0, Editor: true})
	m.Key(Key{Kind: KeyDown})
	m.Key(Key{Kind: KeyEnter})
	check := func(what, whole string) {
		t.Helper()
		view := m.View()
		for _, l := range view {
			if width(l) > 79 {
				t.Errorf("%s: a line of %d columns: %q", what, width(l), l)
			}
		}
		if !strings.Contains(words(strings.Join(view, " ")), words(whole)) {
			t.Errorf("%s: %q is not whole in:\n%s", what, whole, strings.Join(view, "\n"))
		}
	}
	check("the message", "e1.conf cannot boot: "+longReason)
	m.Key(Key{KeyChar, 'p'})
	check("the details", "cannot boot: "+longReason)
	if v := m.String(); !strings.Contains(v, "/very-long-directory-name/very-long-directory-name") {
		t.Errorf("the path is cut:\n%s", v)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		w        int
		want     []string
	}{
		{"short", "a b", 10, []string{"a b"}},
		{"at spaces", "aaa bbb ccc", 7, []string{"aaa bbb", "  ccc"}},
		{"a word longer than a line", "x abcdefghij", 5, []string{"x abc", "  def", "  ghi", "  j"}},
		{"leading spaces start the first line", "  key: value more", 10, []string{"  key:", "  value", "  more"}},
		{"empty", "", 10, []string{""}},
		{"runes, not bytes", "ééé ééé", 3, []string{"ééé", "  é", "  é", "  é"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := wrap(tc.in, tc.w, "  ")
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
			}
		})
	}
}

func TestTermANSI(t *testing.T) {
	for term, want := range map[string]bool{
		"": false, "dumb": false, "unknown": false,
		"vt100": true, "vt220": true, "xterm-256color": true, "linux": true, "screen": true, "tmux-256color": true,
	} {
		if got := TermANSI(term); got != want {
			t.Errorf("TermANSI(%q) = %v, want %v", term, got, want)
		}
	}
}
