// Package cpio writes "newc" cpio archives (the format the Linux kernel
// unpacks from an initrd) in exactly the layout systemd-stub generates for
// credentials, system extensions and /.extra files: inode numbers from 1,
// uid, gid and mtime 0, nlink 1, parent directories first, a 4-byte aligned
// layout and systemd's trailer record. Contents are streamed, never held
// whole in memory.
package cpio

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Mode bits of the records.
const (
	typeDir  = 0o040000
	typeFile = 0o100000
)

// trailer is systemd-stub's end-of-archive record, byte for byte (note the
// upper-case "B" in the name size).
const trailer = "070701" +
	"00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000" + "00000000" +
	"00000000" + "00000000" + "00000000" + "00000000" + "0000000B" + "00000000" +
	"TRAILER!!!\x00\x00\x00\x00"

// TrailerSize is the size of the trailer record.
const TrailerSize = len(trailer)

// Writer writes one archive.
type Writer struct {
	w   io.Writer
	n   int64
	ino uint32
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w, ino: 1} }

// Len is the number of bytes written so far.
func (w *Writer) Len() int64 { return w.n }

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.n += int64(n)
	return err
}

func (w *Writer) pad() error {
	if r := w.n % 4; r != 0 {
		return w.write(make([]byte, 4-r))
	}
	return nil
}

func (w *Writer) header(mode uint32, size int64, name string) error {
	if size > 0xffffffff {
		return fmt.Errorf("cpio: %s: %d bytes is too large for newc", name, size)
	}
	if strings.IndexByte(name, 0) >= 0 || name == "" {
		return fmt.Errorf("cpio: bad name %q", name)
	}
	if w.ino == 0 {
		return errors.New("cpio: out of inode numbers")
	}
	fields := []uint32{w.ino, mode, 0, 0, 1, 0, uint32(size), 0, 0, 0, 0, uint32(len(name) + 1), 0}
	w.ino++
	b := make([]byte, 0, 110+len(name)+4)
	b = append(b, "070701"...)
	for _, f := range fields {
		b = fmt.Appendf(b, "%08x", f)
	}
	b = append(b, name...)
	b = append(b, 0)
	if err := w.write(b); err != nil {
		return err
	}
	return w.pad()
}

// Dir writes a directory record.
func (w *Writer) Dir(name string, perm uint32) error {
	return w.header(typeDir|perm&0o7777, 0, name)
}

// Prefix writes the directories of a path like "mkdir -p": every leading
// component with mode 0555, the last with perm (as systemd-stub does).
func (w *Writer) Prefix(path string, perm uint32) error {
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && i > 0 {
			if err := w.Dir(path[:i], 0o555); err != nil {
				return err
			}
		}
	}
	return w.Dir(path, perm)
}

// File writes a regular file of exactly size bytes read from r.
func (w *Writer) File(name string, perm uint32, size int64, r io.Reader) error {
	if err := w.header(typeFile|perm&0o7777, size, name); err != nil {
		return err
	}
	n, err := io.Copy(struct{ io.Writer }{writerFunc(w.write)}, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("cpio: %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("cpio: %s: got %d bytes, want %d (file changed while read?)", name, n, size)
	}
	return w.pad()
}

// Close writes the trailer.
func (w *Writer) Close() error { return w.write([]byte(trailer)) }

type writerFunc func([]byte) error

func (f writerFunc) Write(b []byte) (int, error) {
	if err := f(b); err != nil {
		return 0, err
	}
	return len(b), nil
}
