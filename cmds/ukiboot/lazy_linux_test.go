package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/vt100"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// ptyScreen is what a program wrote to a pty, read from its master into a
// VT100 model.
type ptyScreen struct {
	master *os.File
	term   *vt100.Terminal
	stream bytes.Buffer
}

// waitFor reads the pty until ok holds for the screen and all that was
// written, and returns the screen; the deadline only ends a run that
// would otherwise hang.
func (s *ptyScreen) waitFor(t *testing.T, what string, ok func(screen string, stream []byte) bool) string {
	t.Helper()
	s.master.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for !ok(s.term.String(), s.stream.Bytes()) {
		n, err := s.master.Read(buf)
		s.stream.Write(buf[:n])
		s.term.Write(buf[:n])
		if err != nil {
			t.Fatalf("%v waiting for %s; the screen:\n%s", err, what, s.term.String())
		}
	}
	return s.term.String()
}

// rowOf is the row of the screen that matches re, or -1.
func rowOf(lines []string, re string) int {
	r := regexp.MustCompile(re)
	for i, l := range lines {
		if r.MatchString(l) {
			return i
		}
	}
	return -1
}

// On an 80x24 pty with TERM=vt100 and a verifier that blocks until
// released, the whole menu is on the screen before the release, each UKI
// tagged [checking]; after it the verdicts replace the tags in place
// (a trusted UKI has no tag), and the screen still holds one menu.
func TestMenuVerdictsInPlaceVT100(t *testing.T) {
	esp, db := verifyTree(t) // enforced: os-2.efi unsigned, os-1.efi signed, Plain a type #1 kernel
	master, slave := openPty(t, 24, 80)
	f := &fakeSystem{platform: noPlatform(t)}
	sys := f.sys()
	sys.stdin, sys.term = slave, "vt100"
	release := make(chan struct{})
	sys.check = func(p *pipeline, e *bls.Entry) entryCheck {
		<-release
		return p.check(e)
	}
	const poweredOff = "<powered off>" // after what the menu wrote, on the same tty
	sys.power = func(int) error {
		_, err := slave.Write([]byte(poweredOff))
		return err
	}
	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- runWith([]string{"-timeout", "menu-force", "-db", db, "-root", esp}, slave, &stderr, sys)
	}()
	s := &ptyScreen{master: master, term: vt100.New(24, 80)}
	oneMenu := func(when string) {
		t.Helper()
		if n := strings.Count(s.term.String(), "ukiboot: boot menu"); n != 1 || s.term.Scrolled != 0 {
			t.Errorf("%s: the title shows %d times, %d lines scrolled:\n%s", when, n, s.term.Scrolled, s.term.String())
		}
	}
	const (
		checking2 = `os \(2\)\s+\[checking\]`
		checking1 = `os \(1\)\s+\[checking\]`
		plain     = `Plain\s+\[untrusted\]`
	)

	before := s.waitFor(t, "the whole menu", func(screen string, _ []byte) bool {
		return strings.Contains(screen, "r rescan") && strings.Contains(screen, "Plain")
	})
	lines := s.term.Lines()
	row2, row1 := rowOf(lines, checking2), rowOf(lines, checking1)
	if row2 < 0 || row1 < 0 || rowOf(lines, plain) < 0 || strings.Contains(before, "signature") {
		t.Errorf("before the release, want os (2) and os (1) [checking], Plain [untrusted]:\n%s", before)
	}
	oneMenu("before the release")

	close(release)
	const (
		untrusted2 = `os \(2\)\s+\[untrusted\]`
		trusted1   = `os \(1\)$` // no tag
	)
	after := s.waitFor(t, "both verdicts", func(screen string, _ []byte) bool {
		l := strings.Split(screen, "\n")
		return rowOf(l, untrusted2) >= 0 && rowOf(l, trusted1) >= 0 && strings.Contains(screen, "r rescan")
	})
	lines = s.term.Lines()
	if strings.Contains(after, "[checking]") {
		t.Errorf("after the release, an entry is still checking:\n%s", after)
	}
	if got := rowOf(lines, untrusted2); got != row2 {
		t.Errorf("os (2) [untrusted] on row %d, want %d (where it was checking):\n%s", got, row2, after)
	}
	if got := rowOf(lines, trusted1); got != row1 {
		t.Errorf("os (1), trusted and so untagged, on row %d, want %d:\n%s", got, row1, after)
	}
	if rowOf(lines, plain) < 0 || !strings.Contains(strings.Join(strings.Fields(after), " "), "unsigned: no signature") { // may wrap
		t.Errorf("after the release, want Plain [untrusted] and the reason of the selected os (2):\n%s", after)
	}
	oneMenu("after the release")
	if len(s.term.Unknown) != 0 {
		t.Errorf("sequences a VT100 does not know: %q", s.term.Unknown)
	}

	if _, err := master.Write([]byte("o")); err != nil {
		t.Fatal(err)
	}
	if rc := <-done; rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	s.waitFor(t, "the power-off", func(_ string, stream []byte) bool { return bytes.Contains(stream, []byte(poweredOff)) })
}
