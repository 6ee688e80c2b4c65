package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/vt100"
	"golang.org/x/sys/unix"
)

// openPty returns the master and the slave of a new rows x cols pty.
func openPty(t *testing.T, rows, cols int) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so that reads of the master honour a deadline.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// longReasonTree is menuTree with a type #1 entry between the two UKIs
// whose kernel is missing, under a path long enough that the reason
// takes several lines.
func longReasonTree(t *testing.T) (esp, kernel string) {
	esp = menuTree(t)
	kernel = "/" + strings.Repeat("a-directory-with-a-long-name/", 5) + "vmlinuz-6.12.9"
	// systemd-boot hides an entry whose linux file is missing, but lists
	// one whose initrd is (booting it fails): the menu shows that one.
	conf := "title Missing kernel\nversion 1.5\nlinux /present\ninitrd " + kernel + "\n"
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	if err := os.WriteFile(filepath.Join(esp, "present"), []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(esp, "loader/entries/missing.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return esp, kernel
}

// twentyKeys: onto the entry that cannot boot, Enter, up to the first
// entry, the editor and Esc, the details and back, End, Home, j, k, j, 1,
// and 3 onto the entry that cannot boot.
const twentyKeys = "\x1b[B\x1b[B\r\x1b[A\x1b[Ae\x7f\x7fx \x1bpx\x1b[F\x1b[Hjkj13"

// runOnPty runs the menu on an 80x24 pty with this TERM, types the keys
// and b (reboot), and returns all the pty printed up to the reboot.
func runOnPty(t *testing.T, term, esp, keys string) []byte {
	master, slave := openPty(t, 24, 80)
	var stream bytes.Buffer
	// waitFor reads the pty's output until it holds s; the deadline only
	// ends a run that would otherwise hang.
	waitFor := func(s string) {
		t.Helper()
		master.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		for !bytes.Contains(stream.Bytes(), []byte(s)) {
			n, err := master.Read(buf)
			stream.Write(buf[:n])
			if err != nil {
				t.Fatalf("%v before %q in the output:\n%q", err, s, stream.Bytes())
			}
		}
	}
	f := &fakeSystem{platform: noPlatform(t)}
	sys := f.sys()
	sys.stdin, sys.term = slave, term
	const rebooted = "<rebooted>" // after what the menu wrote, on the same tty
	sys.power = func(cmd int) error {
		_, err := slave.Write([]byte(rebooted))
		return err
	}
	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- runWith([]string{"-timeout", "menu-force", "-verify", "off", "-root", esp}, slave, &stderr, sys)
	}()
	waitFor("ukiboot: boot menu") // drawn after raw mode: keys are not echoed
	if _, err := master.Write([]byte(keys + "b")); err != nil {
		t.Fatal(err)
	}
	if rc := <-done; rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	waitFor(rebooted)
	return bytes.TrimSuffix(stream.Bytes(), []byte(rebooted))
}

// TestMenuScreenVT100 reads the screen the menu leaves on a VT100 after
// 20 keys.
func TestMenuScreenVT100(t *testing.T) {
	esp, kernel := longReasonTree(t)
	all := runOnPty(t, "vt100", esp, twentyKeys)

	// The screen as it was before b closed the menu.
	last := bytes.LastIndex(all, []byte("\x1b[H\x1b[2J"))
	if last < 0 {
		t.Fatalf("the menu did not clear the screen when it ended:\n%q", all)
	}
	term := vt100.New(24, 80)
	term.Write(all[:last])
	screen := term.String()
	if n := strings.Count(screen, "ukiboot: boot menu"); n != 1 || term.Scrolled != 0 {
		t.Errorf("the title shows %d times, %d lines scrolled:\n%s", n, term.Scrolled, screen)
	}
	lines := term.Lines()
	if rev := term.ReverseRows(); len(rev) != 1 || !strings.Contains(lines[rev[0]], "Missing kernel  [cannot boot]") {
		t.Errorf("reverse video on rows %v, want the entry that cannot boot only:\n%s", rev, screen)
	}
	for i, l := range lines {
		if len([]rune(l)) > 79 {
			t.Errorf("row %d is wider than 79 columns: %q", i+1, l)
		}
	}
	if !strings.Contains(strings.Join(strings.Fields(screen), ""), kernel+":nosuchfileordirectory") { // split across lines
		t.Errorf("the reason is not whole:\n%s", screen)
	}
	if len(term.Unknown) != 0 {
		t.Errorf("sequences a VT100 does not know: %q", term.Unknown)
	}

	// Then the screen is clear, with the cursor shown, for the kernel.
	term.Write(all[last:])
	if strings.TrimSpace(term.String()) != "" || !term.CursorVisible {
		t.Errorf("after the menu:\n%s", term.String())
	}
}

// TestMenuScreenDumb: on a dumb terminal the menu writes no escape byte.
func TestMenuScreenDumb(t *testing.T) {
	esp, kernel := longReasonTree(t)
	all := runOnPty(t, "dumb", esp, twentyKeys)
	if i := bytes.IndexByte(all, 0x1b); i >= 0 {
		t.Errorf("ESC at byte %d: %q", i, all[max(i-40, 0):min(i+40, len(all))])
	}
	if !strings.Contains(strings.Join(strings.Fields(string(all)), ""), kernel+":nosuchfileordirectory") {
		t.Errorf("the reason is not whole:\n%s", all)
	}
}
