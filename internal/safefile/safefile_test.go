package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("12345"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(file, filepath.Join(dir, "link"))
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling"))
	os.Symlink(dir, filepath.Join(dir, "dirlink"))
	for _, c := range []struct {
		name, path string
		max        int64
		want       string // error text; "" for success
	}{
		{"a file", file, 5, ""},
		{"a link to a file", filepath.Join(dir, "link"), 5, ""},
		{"over the limit", file, 4, "larger than 4 bytes"},
		{"a FIFO does not block", fifo, 5, "not a regular file"},
		{"a directory", dir, 5, "a directory"},
		{"a link to a directory", filepath.Join(dir, "dirlink"), 5, "a directory"},
		{"a dangling link", filepath.Join(dir, "dangling"), 5, "cannot be followed"},
		{"missing", filepath.Join(dir, "nope"), 5, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := Read(c.path, c.max)
			if c.want == "" {
				if err != nil || string(b) != "12345" {
					t.Fatalf("%q, %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), c.path) {
				t.Errorf("error %q repeats the path", err)
			}
			if c.want == "a directory" && !errors.Is(err, ErrDirectory) {
				t.Errorf("%v is not ErrDirectory", err)
			}
		})
	}
}
