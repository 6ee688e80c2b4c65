package main

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ukiboot/ukiboot/pkg/menu"
	"golang.org/x/sys/unix"
)

// pollInterval is how long one cycle of the key reader waits for input:
// a lone ESC becomes Escape after it, and pausing waits at most that long.
const pollInterval = 50 // ms

// keyMsg is one key and the reader's generation it was read in: keys of
// an older generation were read before a pause and are stale.
type keyMsg struct {
	gen int64
	key menu.Key
}

// keyReader turns the console into keys. It reads only when the console
// is readable and it is not paused, so that a program the menu runs (the
// shell) gets every byte typed while it runs.
type keyReader struct {
	fd int
	// C delivers the keys; it is closed at the end of input. Compare
	// each key's gen with gen(): keys read before a resume are stale.
	C    chan keyMsg
	done chan struct{} // closed by stop

	mu      sync.Mutex // held for each poll and read
	resumed *sync.Cond
	paused  bool
	stopped bool
	curGen  atomic.Int64 // changed under mu
}

// newKeyReader starts reading keys from f until stop is called. The
// reading goroutine defers onPanic first (tpmRun.closeOnPanic: a panic
// there ends ukiboot); nil: nothing.
func newKeyReader(f *os.File, onPanic func()) *keyReader {
	k := &keyReader{fd: int(f.Fd()), C: make(chan keyMsg, 64), done: make(chan struct{})}
	k.resumed = sync.NewCond(&k.mu)
	go func() {
		if onPanic != nil {
			defer onPanic()
		}
		k.loop()
	}()
	return k
}

func (k *keyReader) loop() {
	defer close(k.C)
	var d menu.Decoder
	var gen int64
	buf := make([]byte, 64)
	for {
		keys, g, ok := k.cycle(&d, &gen, buf)
		for _, key := range keys {
			select {
			case k.C <- keyMsg{g, key}:
			case <-k.done:
				return
			}
		}
		if !ok {
			return
		}
	}
}

// cycle is one poll and read, under the lock: it returns the keys read,
// their generation, and false at the end of input or when stopped.
func (k *keyReader) cycle(d *menu.Decoder, gen *int64, buf []byte) ([]menu.Key, int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for k.paused && !k.stopped {
		k.resumed.Wait()
	}
	if k.stopped {
		return nil, 0, false
	}
	if g := k.curGen.Load(); *gen != g { // a half-read escape sequence is stale too
		*d, *gen = menu.Decoder{}, g
	}
	fds := []unix.PollFd{{Fd: int32(k.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, pollInterval)
	switch {
	case errors.Is(err, unix.EINTR):
		return nil, *gen, true
	case err != nil:
		return d.Flush(), *gen, false
	case n == 0:
		return d.Flush(), *gen, true
	case fds[0].Revents&unix.POLLNVAL != 0:
		return d.Flush(), *gen, false
	}
	r, err := unix.Read(k.fd, buf)
	if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
		return nil, *gen, true
	}
	if r <= 0 {
		return d.Flush(), *gen, false
	}
	return d.Feed(buf[:r]), *gen, true
}

// pause stops reading; it returns once no read is under way.
func (k *keyReader) pause() {
	k.mu.Lock()
	k.paused = true
	k.mu.Unlock()
}

// resume reads again; keys read before it are stale.
func (k *keyReader) resume() {
	k.mu.Lock()
	k.paused = false
	k.curGen.Add(1)
	k.resumed.Broadcast()
	k.mu.Unlock()
	for {
		select {
		case _, ok := <-k.C:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// gen is the current generation: keys of another one are stale.
func (k *keyReader) gen() int64 { return k.curGen.Load() }

// stop ends reading; once it returns the console is not read any more.
func (k *keyReader) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.stopped = true
		close(k.done)
		k.resumed.Broadcast()
	}
}
