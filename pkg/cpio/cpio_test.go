package cpio

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

func TestSystemdLayout(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Prefix(".extra/credentials", 0o500); err != nil {
		t.Fatal(err)
	}
	if err := w.File(".extra/credentials/a.cred", 0o400, 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "070701" + "00000001" + "0000416d" + "00000000" + "00000000" + "00000001" + "00000000" + "00000000" +
		"00000000" + "00000000" + "00000000" + "00000000" + "00000007" + "00000000" + ".extra\x00" + "\x00\x00\x00" +
		"070701" + "00000002" + "00004140" + "00000000" + "00000000" + "00000001" + "00000000" + "00000000" +
		"00000000" + "00000000" + "00000000" + "00000000" + "00000013" + "00000000" + ".extra/credentials\x00" + "\x00\x00\x00" +
		"070701" + "00000003" + "00008100" + "00000000" + "00000000" + "00000001" + "00000000" + "00000005" +
		"00000000" + "00000000" + "00000000" + "00000000" + "0000001a" + "00000000" + ".extra/credentials/a.cred\x00" +
		"hello\x00\x00\x00" + trailer
	if got := b.String(); got != want {
		t.Errorf("archive differs:\n got %q\nwant %q", got, want)
	}
	if TrailerSize != 124 {
		t.Errorf("trailer is %d bytes, systemd's is 124", TrailerSize)
	}
	if b.Len()%4 != 0 || int64(b.Len()) != w.Len() {
		t.Errorf("length %d / %d", b.Len(), w.Len())
	}
}

func TestShortFile(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.File("x", 0o444, 10, strings.NewReader("short")); err == nil {
		t.Error("a file shorter than its size was accepted")
	}
	if err := NewWriter(&b).File("bad\x00name", 0o444, 0, strings.NewReader("")); err == nil {
		t.Error("NUL in name accepted")
	}
}

// TestGNUCpioReadsIt lists an archive with GNU cpio, an independent reader.
func TestGNUCpioReadsIt(t *testing.T) {
	cpio := ukitest.Need(t, "cpio")
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Prefix(".extra/sysext", 0o555)
	for i, n := range []string{"a.raw", "b.raw"} {
		data := strings.Repeat("x", 1000+i)
		w.File(".extra/sysext/"+n, 0o444, int64(len(data)), strings.NewReader(data))
	}
	w.Close()
	cmd := exec.Command(cpio, "-it", "-v", "--quiet")
	cmd.Stdin = &b
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -it: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("cpio lists %d entries:\n%s", len(lines), out)
	}
	for i, want := range []string{"dr-xr-xr-x", "dr-xr-xr-x", "-r--r--r--", "-r--r--r--"} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d: %q, want mode %s", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[3], strconv.Itoa(1001)) || !strings.HasSuffix(lines[3], ".extra/sysext/b.raw") {
		t.Errorf("last entry %q", lines[3])
	}
}
