package httpra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// errStalled is the cause of a request cancelled by a read deadline.
var errStalled = errors.New("stalled")

// limitRedirects returns a copy of c (or of a default client) that follows
// at most MaxRedirects redirects, never from https to another scheme (that
// would drop the confidentiality and server authentication asked for),
// and only those c's own CheckRedirect, if any, accepts.
func limitRedirects(c *http.Client) *http.Client {
	cc := &http.Client{}
	if c != nil {
		*cc = *c
	}
	own := cc.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return fmt.Errorf("more than %d redirects (a loop?); point the URL at the file itself", MaxRedirects)
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected from https to %s: refused, it would drop TLS; point the URL at the file itself or fix the server", Display(req.URL))
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return cc
}

// get sends a GET for bytes start..stop, or for the whole file when stop
// is negative. The returned body fails any read that waits longer than
// f.timeout; cancel releases the request.
func (f *File) get(start, stop int64) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithCancelCause(f.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		cancel(nil)
		return nil, nil, fmt.Errorf("httpra: %s: %v; give a valid URL", f.name, err)
	}
	if stop >= 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, stop))
	}
	// A transparently gunzipped body would not be the bytes asked for.
	req.Header.Set("Accept-Encoding", "identity")
	f.requests++
	d := &deadline{timeout: f.timeout, cancel: cancel}
	d.arm()
	resp, err := f.client.Do(req)
	d.disarm()
	if err != nil {
		cancel(nil)
		if d.fired.Load() {
			err = fmt.Errorf("no answer within %v", f.timeout)
		}
		redactURLError(err)
		return nil, nil, fmt.Errorf("httpra: %s: %w; check the URL, the network and the server", f.name, err)
	}
	resp.Body = &stallReader{r: resp.Body, d: d, name: f.name}
	return resp, func() { cancel(nil) }, nil
}

// redactURLError removes the user and password from the URL of the
// *url.Error in err, if any: Go masks only a password there, and keeps the
// user, which may be a token.
func redactURLError(err error) {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		ue.URL = Display(u)
	} else {
		ue.URL = "(the URL)"
	}
}

// deadline cancels a request when one wait lasts longer than timeout.
type deadline struct {
	timeout time.Duration
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	fired   atomic.Bool
}

func (d *deadline) arm() {
	if d.timer != nil {
		d.timer.Reset(d.timeout)
		return
	}
	d.timer = time.AfterFunc(d.timeout, func() {
		d.fired.Store(true)
		d.cancel(errStalled)
	})
}

func (d *deadline) disarm() { d.timer.Stop() }

// MinRate is the slowest a body may come, in bytes per second averaged
// over the time spent waiting for it, once that time is longer than the
// read timeout. Every read returning within the timeout is not enough: a
// server that sends a byte just before each deadline would hold an
// unattended boot for ever, and -auto would never try the next entry.
// With MinRate, a body of n bytes takes at most about
// max(timeout, n/MinRate) of waiting: 200 MiB in 13 minutes, the 1 GiB
// default -max-size in 68, while any link a fleet boots over is far
// faster than 2 Mbit/s.
const MinRate = 256 << 10

// stallReader is a body whose every Read must return within the deadline,
// and which must come at MinRate or faster once it has taken longer
// than the deadline.
type stallReader struct {
	r      io.ReadCloser
	d      *deadline
	name   string
	got    int64
	waited time.Duration
	slow   bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.slow {
		return 0, s.tooSlow()
	}
	if s.d.fired.Load() {
		return 0, s.stalled()
	}
	start := time.Now()
	s.d.arm()
	n, err := s.r.Read(p)
	s.d.disarm()
	s.waited += time.Since(start)
	s.got += int64(n)
	if err != nil && err != io.EOF && s.d.fired.Load() {
		return n, s.stalled()
	}
	if err == nil && s.waited > s.d.timeout && float64(s.got) < MinRate*s.waited.Seconds() {
		s.slow = true
		s.d.cancel(errStalled) // the connection goes too
		return n, s.tooSlow()
	}
	return n, err
}

func (s *stallReader) tooSlow() error {
	return fmt.Errorf("the transfer is too slow: %d bytes in %v, less than %d KiB/s; check the server and the network",
		s.got, s.waited.Round(time.Millisecond), MinRate>>10)
}

func (s *stallReader) stalled() error {
	return fmt.Errorf("no data for %v (the transfer stalled); check the server and the network", s.d.timeout)
}

func (s *stallReader) Close() error { return s.r.Close() }
