package fanout

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

func stream(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// slowWriter records what it gets, yielding between writes so that
// writers run at different speeds.
type slowWriter struct {
	bytes.Buffer
	every int
	calls int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	s.calls++
	if s.every > 0 && s.calls%s.every == 0 {
		runtime.Gosched()
	}
	return s.Buffer.Write(p)
}

func TestEveryWriterGetsEveryByteInOrder(t *testing.T) {
	data := stream(1<<20 + 12345)
	for _, tc := range []struct {
		name         string
		chunk, depth int
		viaReadFrom  bool
		writers      int
	}{
		{"one writer, default sizes, Write", DefaultChunk, DefaultDepth, false, 1},
		{"five writers, small chunks, Write", 4096, 3, false, 5},
		{"five writers, small chunks, ReadFrom", 4096, 3, true, 5},
		{"odd chunk size, depth one, ReadFrom", 1000, 1, true, 3},
		{"no writers", 4096, 2, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ws []io.Writer
			var got []*slowWriter
			for i := range tc.writers {
				s := &slowWriter{every: i + 1}
				got = append(got, s)
				ws = append(ws, s)
			}
			w := NewSize(tc.chunk, tc.depth, ws...)
			var n int64
			var err error
			if tc.viaReadFrom {
				// OneByteReader and HalfReader make ReadFull loop.
				n, err = w.ReadFrom(iotest.HalfReader(bytes.NewReader(data)))
			} else {
				var k int
				for off := 0; off < len(data); off += k {
					k = min(7777, len(data)-off)
					if _, err = w.Write(data[off : off+k]); err != nil {
						break
					}
				}
				n = int64(len(data))
			}
			if err != nil || n != int64(len(data)) {
				t.Fatalf("wrote %d, %v; want %d, nil", n, err, len(data))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for i, s := range got {
				if !bytes.Equal(s.Bytes(), data) {
					t.Errorf("writer %d got %d bytes, not the stream", i, s.Len())
				}
			}
		})
	}
}

type failAfter struct {
	left int
	err  error
	got  atomic.Int64
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.got.Add(int64(len(p)))
	if f.left -= len(p); f.left < 0 {
		return 0, f.err
	}
	return len(p), nil
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriterErrorStopsTheStream(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		bad  io.Writer
		want error
	}{
		{"a writer fails", &failAfter{left: 10000, err: boom}, boom},
		{"a writer writes short", shortWriter{}, io.ErrShortWrite},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			good := &bytes.Buffer{}
			w := NewSize(4096, 2, good, tc.bad)
			// An endless reader: only the writer's failure can end ReadFrom.
			_, err := w.ReadFrom(endless{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadFrom: %v, want %v", err, tc.want)
			}
			if _, err := w.Write([]byte("more")); !errors.Is(err, tc.want) {
				t.Errorf("Write after the failure: %v, want %v", err, tc.want)
			}
			if err := w.Close(); !errors.Is(err, tc.want) {
				t.Errorf("Close: %v, want %v", err, tc.want)
			}
			if err := w.Close(); !errors.Is(err, tc.want) {
				t.Errorf("second Close: %v, want %v", err, tc.want)
			}
			waitGoroutines(t, before)
		})
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestReaderErrorIsReturned(t *testing.T) {
	boom := errors.New("disk error")
	var got bytes.Buffer
	w := NewSize(100, 2, &got)
	n, err := w.ReadFrom(io.MultiReader(bytes.NewReader(stream(250)), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 250 {
		t.Fatalf("ReadFrom: %d, %v; want 250, %v", n, err, boom)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v (the writers did not fail)", err)
	}
	if got.Len() != 250 {
		t.Errorf("the writer got %d bytes, want the 250 read before the error", got.Len())
	}
}

func TestAbortSkipsQueuedChunksAndEndsWriters(t *testing.T) {
	before := runtime.NumGoroutine()
	release := make(chan struct{})
	var writes atomic.Int64
	blocked := writerFunc(func(p []byte) (int, error) {
		writes.Add(1)
		<-release
		return len(p), nil
	})
	w := NewSize(10, 4, blocked)
	if _, err := w.Write(make([]byte, 40)); err != nil { // four chunks queued
		t.Fatal(err)
	}
	for writes.Load() == 0 { // the first chunk is being written
		runtime.Gosched()
	}
	go func() {
		for !w.isFailed() {
			runtime.Gosched()
		}
		close(release)
	}()
	cause := errors.New("read failed")
	w.Abort(cause)
	if n := writes.Load(); n != 1 {
		t.Errorf("%d chunks written, want only the one being written when Abort was called", n)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, cause) {
		t.Errorf("Write after Abort: %v, want %v", err, cause)
	}
	if err := w.Close(); !errors.Is(err, cause) {
		t.Errorf("Close after Abort: %v, want %v", err, cause)
	}
	waitGoroutines(t, before)
}

func TestWriteAfterClose(t *testing.T) {
	w := New(io.Discard)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// waitGoroutines fails unless the goroutine count drops back to before;
// the writers' goroutines end after Close returns, but the runtime may
// not have reaped them yet.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: writers leaked", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// BenchmarkSHA256 compares hashing a stream n times in a row with
// handing it to n hashes in parallel.
func BenchmarkSHA256(b *testing.B) {
	data := stream(64 << 20)
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("serial/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for range n {
					h := sha256.New()
					h.Write(data)
					h.Sum(nil)
				}
			}
		})
		b.Run(fmt.Sprintf("fanout/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var ws []io.Writer
				for range n {
					ws = append(ws, sha256.New())
				}
				w := New(ws...)
				if _, err := w.ReadFrom(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
