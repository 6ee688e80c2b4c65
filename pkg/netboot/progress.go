package netboot

import (
	"fmt"
	"io"
	"time"
)

// Progress line timing: the first line after progressDelay, then at most
// one every progressEvery.
const (
	progressDelay = time.Second
	progressEvery = 500 * time.Millisecond
)

// progress wraps the body of a download of total bytes so that, when
// s.o.Progress is set and the download takes more than progressDelay, a
// line "ukiboot: downloading URL: 120.0 of 200.0 MiB, 85.2 MiB/s" is
// written and rewritten (\r), ended by a newline when the body ends or
// is closed.
func (s *Source) progress(body io.ReadCloser, total int64) io.ReadCloser {
	if s.o.Progress == nil {
		return body
	}
	start := s.now()
	return &progressBody{body: body, w: s.o.Progress, name: s.u.String(), total: total, now: s.now, start: start}
}

type progressBody struct {
	body    io.ReadCloser
	w       io.Writer
	name    string
	total   int64
	now     func() time.Time
	start   time.Time
	last    time.Time // of the last line; zero before the first
	n       int64
	width   int // of the longest line so far
	printed bool
	ended   bool
}

func (p *progressBody) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	p.n += int64(n)
	if err != nil || p.n == p.total {
		p.end()
		return n, err
	}
	if t := p.now(); t.Sub(p.start) > progressDelay && (!p.printed || t.Sub(p.last) >= progressEvery) {
		p.line(t)
	}
	return n, err
}

// line writes the progress at t.
func (p *progressBody) line(t time.Time) {
	const mib = 1 << 20
	rate := 0.0
	if d := t.Sub(p.start).Seconds(); d > 0 {
		rate = float64(p.n) / mib / d
	}
	l := fmt.Sprintf("ukiboot: downloading %s: %.1f of %.1f MiB, %.1f MiB/s", p.name, float64(p.n)/mib, float64(p.total)/mib, rate)
	// Blanks over what a longer line before left.
	fmt.Fprintf(p.w, "\r%-*s", p.width, l)
	p.width = max(p.width, len(l))
	p.printed, p.last = true, t
}

// end writes the last line, if the download was slow enough to show one.
func (p *progressBody) end() {
	if p.ended {
		return
	}
	p.ended = true
	if t := p.now(); p.printed || t.Sub(p.start) > progressDelay {
		p.line(t)
		fmt.Fprintln(p.w)
	}
}

func (p *progressBody) Close() error {
	p.end()
	return p.body.Close()
}
