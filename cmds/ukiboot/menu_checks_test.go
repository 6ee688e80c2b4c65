package main

import (
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// stallingChecks makes the menu's background check of one UKI read
// nothing until it is cancelled; it counts the checks of each UKI and the
// reads still waiting.
type stallingChecks struct {
	stall string // base name of the UKI whose check stalls
	mu    sync.Mutex
	// checks counts the background checks started per UKI.
	checks map[string]int
	// waiting counts the reads stalled now; cancelled those that saw
	// the cancellation and returned.
	waiting, cancelled int
	changed            chan struct{}
}

func newStallingChecks(stall string) *stallingChecks {
	return &stallingChecks{stall: stall, checks: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (s *stallingChecks) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// wrap is system.wrapUKI: the background checks read through a reader
// that says when they are cancelled (Done); the scan does not.
func (s *stallingChecks) wrap(name string, r io.ReaderAt) io.ReaderAt {
	d, ok := r.(interface{ Done() <-chan struct{} })
	if !ok {
		return r
	}
	s.mu.Lock()
	s.checks[path.Base(name)]++
	s.mu.Unlock()
	s.notify()
	if path.Base(name) != s.stall {
		return r
	}
	return stalledReader{r, d.Done(), s}
}

type stalledReader struct {
	r    io.ReaderAt
	done <-chan struct{}
	s    *stallingChecks
}

func (r stalledReader) ReadAt(b []byte, off int64) (int, error) {
	r.s.mu.Lock()
	r.s.waiting++
	r.s.mu.Unlock()
	<-r.done
	r.s.mu.Lock()
	r.s.waiting--
	r.s.cancelled++
	r.s.mu.Unlock()
	return r.r.ReadAt(b, off)
}

// stopped fails unless no check reads any more and one was cancelled.
func (s *stallingChecks) stopped(t *testing.T, when string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waiting != 0 || s.cancelled == 0 {
		t.Errorf("%s while a check reads (%d reads stalled, %d cancelled)", when, s.waiting, s.cancelled)
	}
}

func (s *stallingChecks) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checks[name]
}

// Enter does not wait for the check of another UKI: it is cancelled in
// the middle of the UKI and has stopped before the load. After the failed
// load, the verdict already computed is kept (os-2.efi is not checked
// again); o stops the checks before the partitions are unmounted.
func TestMenuBootStopsChecks(t *testing.T) {
	f := &fakeSystem{platform: noPlatform(t), refuse: map[string]error{"K2": os.ErrPermission}}
	sys := f.sys()
	s := newStallingChecks("os-1.efi")
	sys.wrapUKI = s.wrap
	load := sys.load
	sys.load = func(k, i *os.File, cmdline string) error {
		s.stopped(t, "loading")
		return load(k, i, cmdline)
	}
	roots := sys.roots
	unmounted := 0
	sys.roots = func(o *options, logf func(string, ...any)) (*partitions, error) {
		parts, err := roots(o, logf)
		if err == nil {
			unmount := parts.close
			parts.close = func() {
				s.stopped(t, "unmounting")
				unmounted++
				unmount()
			}
		}
		return parts, err
	}
	w, out, done, powered := startMenuOnPipe(t, sys, "-timeout", "menu-force", "-root", menuTree(t))

	out.waitFor(t, "os-2.efi's verdict while os-1.efi is checked", func(s string) bool {
		return regexpCount(s, `os \(2\)\s+\[unverified\]`) > 0 && regexpCount(s, `os \(1\)\s+\[checking\]`) > 0
	})
	w.Write([]byte("\r")) // os-2.efi, refused by the kernel
	out.waitFor(t, "the failure", func(s string) bool { return strings.Contains(s, "cannot boot os-2.efi") })
	deadline := time.After(time.Minute)
	for s.count("os-1.efi") < 2 { // the checks start again
		select {
		case <-s.changed:
		case <-deadline:
			t.Fatalf("the checks did not start again after the failed boot")
		}
	}
	if n := s.count("os-2.efi"); n != 1 {
		t.Errorf("os-2.efi checked %d times, want once: its verdict is kept after the failed boot", n)
	}
	w.Write([]byte("o"))
	if rc := <-done; rc != 0 {
		t.Errorf("rc %d", rc)
	}
	<-powered
	if len(f.loads) != 1 || unmounted != 1 {
		t.Errorf("%d loads, %d unmounts; want 1, 1", len(f.loads), unmounted)
	}
}

// A hidden or disabled menu boots at once and checks nothing in the
// background: its verdicts would only be shown.
func TestMenuHiddenChecksNothing(t *testing.T) {
	for _, tc := range []struct{ name, timeout string }{
		{"hidden", "0"},
		{"disabled", "menu-disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			sys := f.sys()
			var mu sync.Mutex
			checked := 0
			sys.check = func(p *pipeline, e *bls.Entry) entryCheck {
				mu.Lock()
				checked++
				mu.Unlock()
				return p.check(e)
			}
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			sys.stdin = r
			var out, log strings.Builder
			rc := runWith([]string{"-timeout", tc.timeout, "-root", menuTree(t)}, &out, &log, sys)
			if rc != 0 || len(f.loads) != 1 {
				t.Fatalf("rc %d, %d loads\n%s", rc, len(f.loads), log.String())
			}
			mu.Lock()
			defer mu.Unlock()
			if checked != 0 {
				t.Errorf("%d background checks for a menu never shown", checked)
			}
		})
	}
}
