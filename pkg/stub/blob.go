package stub

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/ukiboot/ukiboot/internal/fanout"
)

// Blob is data in a sealed memfd: private memory that no one can change
// after it was written (and that never lives in the Go heap).
type Blob struct {
	File *os.File
	Size int64
	// SHA256 is the SHA-256 of the bytes; zero for the private copy of a
	// UKI or addon (copyPE), whose SHA-256 no one reads.
	SHA256 [32]byte
}

// Close releases the memory.
func (b *Blob) Close() error {
	if b == nil || b.File == nil {
		return nil
	}
	return b.File.Close()
}

// copyBufferSize is the buffer of the copies into memfds: large enough
// that the write system calls cost little next to the hashes.
const copyBufferSize = 1 << 20

// blobWriter fills a new memfd and, unless h is nil, hashes what it
// writes.
type blobWriter struct {
	f    *os.File
	h    hashWriter
	size int64
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

// newBlob starts a memfd whose bytes are hashed with SHA-256.
func newBlob(name string) (*blobWriter, error) {
	w, err := newUnhashedBlob(name)
	if err == nil {
		w.h = sha256.New()
	}
	return w, err
}

// newUnhashedBlob starts a memfd whose Blob.SHA256 stays zero.
func newUnhashedBlob(name string) (*blobWriter, error) {
	f, err := newMemfd(name)
	if err != nil {
		return nil, err
	}
	return &blobWriter{f: f}, nil
}

func newMemfd(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate("ukiboot-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "memfd:"+name), nil
}

func (w *blobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if w.h != nil {
		w.h.Write(p[:n])
	}
	w.size += int64(n)
	return n, err
}

// pad writes zeros up to a multiple of 4.
func (w *blobWriter) pad() error {
	if r := w.size % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

// seal forbids any further change and rewinds the file.
func (w *blobWriter) seal() (*Blob, error) {
	const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(w.f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("sealing %s: %w", w.f.Name(), err)
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		w.f.Close()
		return nil, err
	}
	b := &Blob{File: w.f, Size: w.size}
	if w.h != nil {
		copy(b.SHA256[:], w.h.Sum(nil))
	}
	return b, nil
}

func (w *blobWriter) abort() { w.f.Close() }

// snapshot copies exactly size bytes of r into a sealed memfd, in one read
// pass, and hashes them (Blob.SHA256).
func snapshot(name string, r io.Reader, size int64) (*Blob, error) {
	w, err := newBlob(name)
	if err != nil {
		return nil, err
	}
	return fill(w, name, r, size)
}

// snapshotUnhashed is snapshot without Blob.SHA256, which stays zero:
// for the private copy of a PE image (its Authenticode digests come from
// the extra writers, which see the same bytes) and for a kernel whose
// SHA-256 was already computed.
func snapshotUnhashed(name string, r io.Reader, size int64, also ...io.Writer) (*Blob, error) {
	w, err := newUnhashedBlob(name)
	if err != nil {
		return nil, err
	}
	return fill(w, name, r, size, also...)
}

// fill copies size bytes of r to w and seals it. Extra writers see the
// same bytes, each in its own goroutine (internal/fanout), so that they
// and the copy run on all cores.
func fill(w *blobWriter, name string, r io.Reader, size int64, also ...io.Writer) (*Blob, error) {
	src := io.LimitReader(r, size)
	var n int64
	var err error
	if len(also) == 0 {
		n, err = io.CopyBuffer(w, src, make([]byte, copyBufferSize))
	} else {
		fw := fanout.New(append([]io.Writer{w}, also...)...)
		if n, err = fw.ReadFrom(src); err != nil {
			fw.Abort(err)
		} else {
			err = fw.Close()
		}
	}
	if err == nil && n != size {
		err = fmt.Errorf("read %d bytes, expected %d (file changed while read?)", n, size)
	}
	if err != nil {
		w.abort()
		return nil, fmt.Errorf("copying %s: %w", name, err)
	}
	return w.seal()
}

// sectionFrom reads f from its start regardless of its offset.
func sectionFrom(f io.ReaderAt, size int64) io.Reader { return io.NewSectionReader(f, 0, size) }

// writers turns hashers into extra writers for snapshot.
func writers[W io.Writer](ws []W) []io.Writer {
	out := make([]io.Writer, len(ws))
	for i, w := range ws {
		out[i] = w
	}
	return out
}
