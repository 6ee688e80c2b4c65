package menu

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestDecoder(t *testing.T) {
	var d Decoder
	got := d.Feed([]byte("j\x1b[A\x1b[Bk\r\n\x1b[H\x1b[4~\x1bO"))
	got = append(got, d.Feed([]byte("F\x7fx\x1b[C"))...)
	got = append(got, d.Feed([]byte("\x1b"))...)
	got = append(got, d.Flush()...)
	want := []Key{{KeyChar, 'j'}, {Kind: KeyUp}, {Kind: KeyDown}, {KeyChar, 'k'}, {Kind: KeyEnter}, {Kind: KeyHome}, {Kind: KeyEnd},
		{Kind: KeyEnd}, {Kind: KeyBackspace}, {KeyChar, 'x'}, {Kind: KeyEscape}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func items(n int) []Item {
	var out []Item
	for i := 0; i < n; i++ {
		out = append(out, Item{ID: fmt.Sprintf("e%d.conf", i), Title: fmt.Sprintf("Entry %d", i), Bootable: true, Editable: true, Cmdline: "quiet"})
	}
	return out
}

func TestNavigateAndBoot(t *testing.T) {
	m := New(Config{Items: items(4), Default: 1, Timeout: Timeout{Seconds: 5}, Editor: true})
	if m.Selected() != 1 || !m.Counting() {
		t.Fatal("starts on the default with the countdown running")
	}
	if !strings.Contains(m.String(), "Booting e1.conf in 5s") || !strings.Contains(m.String(), ">* 2 Entry 1") {
		t.Errorf("view:\n%s", m)
	}
	if a := m.Key(Key{Kind: KeyDown}); a != None || m.Selected() != 2 || m.Counting() {
		t.Error("Down moves and stops the countdown")
	}
	for _, k := range []Key{{Kind: KeyDown}, {Kind: KeyDown}} { // stops at the end
		m.Key(k)
	}
	if m.Selected() != 3 {
		t.Errorf("sel %d", m.Selected())
	}
	m.Key(Key{KeyChar, 'k'})
	m.Key(Key{Kind: KeyHome})
	m.Key(Key{KeyChar, 'j'})
	if m.Selected() != 1 {
		t.Errorf("sel %d", m.Selected())
	}
	m.Key(Key{KeyChar, '4'})
	m.Key(Key{Kind: KeyEnd})
	m.Key(Key{KeyChar, '9'}) // no 9th entry: stays
	if m.Selected() != 3 {
		t.Errorf("sel %d", m.Selected())
	}
	if a := m.Key(Key{Kind: KeyEnter}); a != Boot || m.Edited() {
		t.Error("Enter boots the highlighted entry")
	}
}

func TestCountdown(t *testing.T) {
	m := New(Config{Items: items(2), Default: 1, Timeout: Timeout{Seconds: 2}})
	if m.Tick() != None || m.Tick() != Boot || m.Selected() != 1 {
		t.Error("the default boots after 2 ticks")
	}
	m = New(Config{Items: items(2), Default: 0, Timeout: Timeout{Seconds: 0}})
	if m.Tick() != Boot {
		t.Error("timeout 0 boots on the first tick")
	}
	m = New(Config{Items: items(2), Default: 0, Timeout: Timeout{Forever: true}})
	for i := 0; i < 100; i++ {
		if m.Tick() != None {
			t.Fatal("menu-force never boots by itself")
		}
	}
	m = New(Config{Items: items(2), Default: -1, Timeout: Timeout{Seconds: 1}})
	for i := 0; i < 3; i++ {
		if m.Tick() != None {
			t.Error("nothing bootable: nothing boots")
		}
	}
}

func TestCannotBootAndMessages(t *testing.T) {
	its := items(3)
	its[1].Bootable, its[1].Reason = false, "untrusted: no signature"
	its[2].Editable, its[2].NotEditable = false, "verification is enforced and the UKI has a .cmdline"
	m := New(Config{Items: its, Default: 0, Editor: true})
	m.Key(Key{Kind: KeyDown})
	if a := m.Key(Key{Kind: KeyEnter}); a != None || !strings.Contains(m.String(), "e1.conf cannot boot: untrusted: no signature") {
		t.Errorf("a non-bootable entry booted or gave no reason:\n%s", m)
	}
	if !strings.Contains(m.String(), "Entry 1  [cannot boot]") {
		t.Errorf("not marked:\n%s", m)
	}
	if m.Key(Key{KeyChar, 'd'}) != None {
		t.Error("d on a non-bootable entry")
	}
	m.Key(Key{Kind: KeyDown})
	m.Key(Key{KeyChar, 'e'})
	if m.Editing() || !strings.Contains(m.String(), "cannot be changed: verification is enforced") {
		t.Errorf("editor opened against the policy:\n%s", m)
	}
	m.SetMessage("cannot load e2.conf: ENOEXEC")
	if !strings.Contains(m.String(), "! cannot load e2.conf: ENOEXEC") {
		t.Errorf("failure message:\n%s", m)
	}
	noEditor := New(Config{Items: items(1), Default: 0, Editor: false})
	noEditor.Key(Key{KeyChar, 'e'})
	if noEditor.Editing() || !strings.Contains(noEditor.String(), "editor is disabled") {
		t.Error("editor no")
	}
}

func TestEditor(t *testing.T) {
	m := New(Config{Items: items(2), Default: 0, Editor: true})
	m.Key(Key{KeyChar, 'e'})
	if !m.Editing() || !strings.Contains(m.String(), "> quiet") {
		t.Fatalf("editor:\n%s", m)
	}
	for _, k := range []Key{{Kind: KeyBackspace}, {Kind: KeyBackspace}, {KeyChar, ' '}, {KeyChar, 'x'}} {
		m.Key(k)
	}
	if a := m.Key(Key{Kind: KeyEnter}); a != Boot || !m.Edited() || m.Cmdline() != "qui x" {
		t.Errorf("edited %v %q", m.Edited(), m.Cmdline())
	}
	m.SetMessage("failed")
	if m.Edited() {
		t.Error("a failed boot forgets the edit")
	}
	m.Key(Key{KeyChar, 'e'})
	m.Key(Key{Kind: KeyEscape})
	if m.Editing() || m.Edited() {
		t.Error("Esc cancels")
	}
}

func TestCommands(t *testing.T) {
	m := New(Config{Items: items(2), Default: 0, Shell: true})
	for c, want := range map[byte]Action{'d': SetDefault, 'r': Rescan, 's': Shell, 'b': Reboot, 'o': PowerOff, 'z': None} {
		if a := m.Key(Key{KeyChar, c}); a != want {
			t.Errorf("%c: %v, want %v", c, a, want)
		}
	}
	noShell := New(Config{Items: items(1), Default: 0})
	if noShell.Key(Key{KeyChar, 's'}) != None || !strings.Contains(noShell.String(), "no shell") {
		t.Error("s without a shell")
	}
	its := items(1)
	its[0].Details = []string{"path: /boot/efi/EFI/Linux/a.efi", "verdict: trusted"}
	d := New(Config{Items: its, Default: 0})
	d.Key(Key{KeyChar, 'p'})
	if !strings.Contains(d.String(), "verdict: trusted") {
		t.Errorf("details:\n%s", d)
	}
	d.Key(Key{KeyChar, 'x'})
	if strings.Contains(d.String(), "verdict: trusted") {
		t.Error("any key leaves the details")
	}
}

func TestScrollAndWidth(t *testing.T) {
	m := New(Config{Items: items(40), Default: 0, Height: 12, Width: 40})
	view := m.View()
	if len(view) > 12 {
		t.Errorf("%d lines for a 12-line terminal", len(view))
	}
	for _, l := range view {
		if len(l) > 40 {
			t.Errorf("line wider than 40: %q", l)
		}
	}
	m.Key(Key{Kind: KeyEnd})
	if !strings.Contains(m.String(), "> 40 Entry 39") || !strings.Contains(m.String(), "more above") {
		t.Errorf("scrolled view:\n%s", m)
	}
	m.Reload(items(3), 2)
	if m.Selected() != 2 {
		t.Errorf("reload: sel %d", m.Selected())
	}
}

// TestDefaultKeyBothCases: systemd-boot's menu_run takes d and D for the
// default toggle.
func TestDefaultKeyBothCases(t *testing.T) {
	for _, c := range []byte{'d', 'D'} {
		t.Run(string(c), func(t *testing.T) {
			m := New(Config{Items: items(2), Default: 0})
			if a := m.Key(Key{KeyChar, c}); a != SetDefault {
				t.Errorf("%c: %v, want SetDefault", c, a)
			}
		})
	}
}
