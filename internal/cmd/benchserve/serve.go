package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// server serves the regular files under root (read-only, GET and HEAD,
// Range through http.ServeContent), every response body paced to rate
// bytes per second when rate > 0.
type server struct {
	root  *os.Root
	rate  int64
	clock clock
}

// clock is the time the pacer reads and waits on (a fake one in tests).
type clock interface {
	Now() time.Time
	SleepUntil(time.Time)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func (s server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	// path.Clean of a rooted path never leaves the root; os.Root also
	// refuses symbolic links that lead out of it.
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		http.NotFound(w, r)
		return
	}
	f, err := s.root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	if s.rate > 0 {
		w = &pacedWriter{ResponseWriter: w, pace: pacer{rate: s.rate, clock: s.clock}}
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// pacedWriter writes a response body no faster than its pacer allows.
// It hides the ResponseWriter's io.ReaderFrom, so that net/http cannot
// sendfile(2) past the pacing: every body byte goes through Write.
type pacedWriter struct {
	http.ResponseWriter
	pace pacer
}

// paceChunk is how many bytes are written at once: 64 KiB is 0.5 ms at
// 1 Gbit/s, fine enough that the sender never runs far ahead of the link.
const paceChunk = 64 << 10

func (w *pacedWriter) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		k := min(len(p), paceChunk)
		w.pace.wait(int64(k))
		m, err := w.ResponseWriter.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// pacer emulates a link of rate bytes per second that starts sending
// with the first body byte: byte i of the body arrives at start + (i+1) /
// rate. wait(k) returns when the next k bytes would all have crossed the
// link, so a body of n bytes ends at start + n / rate whatever the sizes
// of the writes, and no rounding accumulates.
type pacer struct {
	rate  int64
	clock clock
	start time.Time
	sent  int64
}

func (p *pacer) wait(k int64) {
	if p.start.IsZero() {
		p.start = p.clock.Now()
	}
	p.sent += k
	// In float64: exact to the nanosecond for a hundred days of sending.
	due := p.start.Add(time.Duration(float64(p.sent) / float64(p.rate) * float64(time.Second)))
	if p.clock.Now().Before(due) {
		p.clock.SleepUntil(due)
	}
}

// loopbackOnly refuses a listen address whose host is not a loopback IP
// address: the bench serves its fixtures to this machine only.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v (want 127.0.0.1:PORT or [::1]:PORT)", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: %q is not a loopback IP address: benchserve listens on this machine only (127.0.0.1 or ::1)", addr, host)
	}
	return nil
}

// openRoot opens the directory served.
func openRoot(dir string) (*os.Root, error) {
	r, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("-root %s: no such directory (make bench's benchfix builds the fixtures)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("-root %s: %v", dir, err)
	}
	return r, nil
}
