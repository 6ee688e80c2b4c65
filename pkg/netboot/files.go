package netboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"time"

	"github.com/ukiboot/ukiboot/pkg/httpra"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Files is the UKI as stub.Build reads it: Open(Name()) opens it and
// nothing else exists (a UKI loaded from a URL has no partition: no
// addons, credentials or extensions). Display names the UKI by the
// redacted URL.
//
// The opened UKI answers ReadAt with Range requests (the headers and
// the signature table the one pass plans with) and Stream with one GET
// of the whole file, which the one pass reads once. From a server
// without Range support, Open downloads the whole UKI into a sealed
// memfd first and serves it from there: such a server costs the UKI's
// size in memory twice (the memfd and the private copy).
func (s *Source) Files() stub.Files { return files{s} }

type files struct{ s *Source }

func (f files) Open(name string) (stub.File, error) {
	if name != f.s.Name() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f.s.openUKI(context.Background())
}

func (f files) Display(name string) string {
	if name == f.s.Name() {
		return f.s.u.String()
	}
	return name + " (not looked up: " + f.s.u.String() + " has no partition)"
}

// openUKI opens the UKI for booting.
func (s *Source) openUKI(ctx context.Context) (stub.File, error) {
	f, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if f.Ranged() {
		n := &netFile{f: f, s: s}
		b := &preReadBudget{r: f, s: s, by: s.now().Add(s.preReadTimeout())}
		n.SectionReader, n.budget = io.NewSectionReader(b, 0, f.Size()), b
		return n, nil
	}
	return s.download(f)
}

// download copies the whole UKI of a server without Range support into a
// sealed memfd, which then serves it.
func (s *Source) download(f *httpra.File) (stub.File, error) {
	body, err := f.Stream()
	if err != nil {
		return nil, err
	}
	r := s.progress(body, f.Size())
	defer r.Close()
	return memfdCopy(s.u.String(), r, f.Size())
}

// netFile is a UKI on a server with Range support.
type netFile struct {
	*io.SectionReader // Read and ReadAt, with Range requests
	f                 *httpra.File
	s                 *Source
	budget            *preReadBudget
}

// preReadTimeout bounds the Range reads of a UKI opened for booting,
// before its download: each request has the read timeout, but a hostile
// server answering each just in time, for a UKI whose small sections
// are spread over many blocks, must not hold -auto for
// httpra.MaxRequests of them. The download has its own bounds.
func (s *Source) preReadTimeout() time.Duration {
	t := s.o.ReadTimeout
	if t <= 0 {
		t = httpra.DefaultReadTimeout
	}
	return 2 * t
}

// preReadBudget refuses Range reads once the pre-read's time is up
// (until the download starts).
type preReadBudget struct {
	r  io.ReaderAt
	s  *Source
	by time.Time
	mu sync.Mutex
	on bool // the download started: no more budget
}

func (b *preReadBudget) ReadAt(p []byte, off int64) (int, error) {
	b.mu.Lock()
	late := !b.on && b.s.now().After(b.by)
	b.mu.Unlock()
	if late {
		return 0, fmt.Errorf("%s: headers not read within %v (twice the read timeout): the server is too slow", b.s.u, b.s.preReadTimeout())
	}
	return b.r.ReadAt(p, off)
}

func (b *preReadBudget) streaming() {
	b.mu.Lock()
	b.on = true
	b.mu.Unlock()
}

// Stream is the UKI's one download (stub reads it once, from here).
func (n *netFile) Stream() (io.ReadCloser, error) {
	n.budget.streaming()
	body, err := n.f.Stream()
	if err != nil {
		return nil, err
	}
	return n.s.progress(body, n.f.Size()), nil
}

func (n *netFile) Stat() (fs.FileInfo, error) {
	return fileInfo{name: path.Base(n.s.Name()), size: n.f.Size()}, nil
}

func (n *netFile) ReadDir(int) ([]fs.DirEntry, error) {
	return nil, errors.New(n.s.u.String() + ": not a directory")
}

func (n *netFile) Close() error { return nil }

// fileInfo describes a UKI served with Range support.
type fileInfo struct {
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
