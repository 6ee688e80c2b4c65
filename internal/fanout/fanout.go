// Package fanout hands one stream of bytes to several writers at once,
// each in its own goroutine, so that independent digests of the same
// bytes (an Authenticode digest, one per PCR bank, the copy into a
// memfd) use every core while the stream is read once.
//
// Every writer gets every byte, in order, in chunks of at most the
// chunk size. A chunk is reused only after every writer has returned
// from writing it, so writers must not keep the slices they are given
// (as io.Writer already requires). At most depth chunks exist, so a
// slow writer holds the reader back by depth chunks at most and memory
// stays bounded: depth × chunk bytes.
package fanout

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// Defaults: 8 chunks of 1 MiB. A chunk of 1 MiB keeps the per-chunk
// cost (a channel send per writer) far below the cost of hashing it, and
// 8 of them let writers of different speeds run ahead of each other.
const (
	DefaultChunk = 1 << 20
	DefaultDepth = 8
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("fanout: write after close")

// Writer is an io.Writer and io.ReaderFrom that hands what it is given
// to its writers. It is not safe for concurrent use by several
// producers; its writers run concurrently with each other and with the
// producer.
type Writer struct {
	size, depth int
	made        int // chunks allocated so far
	free        chan *chunk
	outs        []chan *chunk
	wg          sync.WaitGroup

	failOnce sync.Once
	failed   chan struct{} // closed when a writer failed or the stream was aborted
	err      error         // the first failure; written once before failed is closed

	closed bool
}

type chunk struct {
	buf  []byte
	n    int
	refs atomic.Int32
}

// New starts one goroutine per writer, with the default chunk size and
// depth. Close must be called to end them.
func New(ws ...io.Writer) *Writer { return NewSize(DefaultChunk, DefaultDepth, ws...) }

// NewSize is New with a chunk size and a number of chunks (both at
// least 1).
func NewSize(chunkSize, depth int, ws ...io.Writer) *Writer {
	chunkSize, depth = max(chunkSize, 1), max(depth, 1)
	w := &Writer{size: chunkSize, depth: depth, free: make(chan *chunk, depth), failed: make(chan struct{})}
	for _, dst := range ws {
		out := make(chan *chunk, depth) // never full: at most depth chunks exist
		w.outs = append(w.outs, out)
		w.wg.Add(1)
		go w.run(dst, out)
	}
	return w
}

// run writes every chunk to dst until out is closed. After a failure
// (its own or another writer's) it only hands the chunks back.
func (w *Writer) run(dst io.Writer, out <-chan *chunk) {
	defer w.wg.Done()
	for c := range out {
		if !w.isFailed() {
			n, err := dst.Write(c.buf[:c.n])
			if err == nil && n != c.n {
				err = io.ErrShortWrite
			}
			if err != nil {
				w.fail(err)
			}
		}
		w.release(c)
	}
}

func (w *Writer) isFailed() bool {
	select {
	case <-w.failed:
		return true
	default:
		return false
	}
}

func (w *Writer) fail(err error) {
	w.failOnce.Do(func() {
		w.err = err
		close(w.failed)
	})
}

func (w *Writer) release(c *chunk) {
	if c.refs.Add(-1) == 0 {
		w.free <- c // cannot block: the channel holds every chunk
	}
}

// get returns a free chunk, allocating one while fewer than depth exist,
// else waiting for one; it fails once a writer failed.
func (w *Writer) get() (*chunk, error) {
	if w.isFailed() {
		return nil, w.err
	}
	if w.closed {
		return nil, ErrClosed
	}
	select {
	case c := <-w.free:
		return c, nil
	default:
	}
	if w.made < w.depth {
		w.made++
		return &chunk{buf: make([]byte, w.size)}, nil
	}
	select {
	case <-w.failed:
		return nil, w.err
	case c := <-w.free:
		return c, nil
	}
}

// submit hands c to every writer.
func (w *Writer) submit(c *chunk) {
	if len(w.outs) == 0 {
		w.free <- c
		return
	}
	c.refs.Store(int32(len(w.outs)))
	for _, out := range w.outs {
		out <- c
	}
}

// Write copies p into chunks and hands them on. It returns the first
// writer's error once one failed; bytes accepted before may or may not
// have reached every writer (Close says).
func (w *Writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c, err := w.get()
		if err != nil {
			return written, err
		}
		c.n = copy(c.buf, p)
		p = p[c.n:]
		written += c.n
		w.submit(c)
	}
	return written, nil
}

// ReadFrom reads r to its end straight into chunks (no copy of its own)
// and hands them on; io.Copy uses it.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		c, err := w.get()
		if err != nil {
			return total, err
		}
		n, err := io.ReadFull(r, c.buf)
		total += int64(n)
		if n > 0 {
			c.n = n
			w.submit(c)
		} else {
			w.free <- c
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Close waits until every writer has written everything handed on and
// returns the first writer error. It may be called more than once.
func (w *Writer) Close() error {
	if !w.closed {
		w.closed = true
		for _, out := range w.outs {
			close(out)
		}
		w.wg.Wait()
	}
	if w.isFailed() {
		return w.err
	}
	return nil
}

// Abort stops the writers without writing what is still queued and
// waits for them; err (or ErrClosed if nil) is what later calls return.
// Use it when the producer fails, so no CPU is spent on a stream that
// will be thrown away.
func (w *Writer) Abort(err error) {
	if err == nil {
		err = ErrClosed
	}
	w.fail(err)
	w.Close()
}
