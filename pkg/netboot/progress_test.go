package netboot

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step at every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

// TestProgress: a download that takes more than a second shows a
// progress line, rewritten at most every half second and ended by a
// newline; a quick one shows none.
func TestProgress(t *testing.T) {
	const size = 3 << 20
	data := bytes.Repeat([]byte("u"), size)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(data) // no Range: Open downloads it whole, into a memfd
	}))
	t.Cleanup(srv.Close)
	line := regexp.MustCompile(`^ukiboot: downloading http://127\.0\.0\.1:\d+/f\.efi: \d+\.\d of 3\.0 MiB, \d+\.\d MiB/s *$`)
	for _, c := range []struct {
		name  string
		step  time.Duration // per reading of the clock
		lines bool
	}{
		{name: "quick", step: time.Millisecond},
		{name: "slow", step: 300 * time.Millisecond, lines: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := ParseURL(srv.URL + "/f.efi")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			s := NewSource(u, Options{Progress: &out})
			clock := &fakeClock{t: time.Unix(0, 0), step: c.step}
			s.now = clock.now
			f, err := s.openUKI(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			got := out.String()
			if !c.lines {
				if got != "" {
					t.Errorf("progress %q for a quick download, want none", got)
				}
				return
			}
			if !strings.HasPrefix(got, "\r") || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
				t.Fatalf("progress %q: want lines each starting with \\r, one newline at the end", got)
			}
			lines := strings.Split(strings.TrimSuffix(got[1:], "\n"), "\r")
			for _, l := range lines {
				if !line.MatchString(l) {
					t.Errorf("progress line %q does not look like %s", l, line)
				}
			}
			// Every reading of the clock is 0.3 s: a line at most every other read.
			elapsed := clock.t.Sub(time.Unix(0, 0))
			if max := int(elapsed/progressEvery) + 2; len(lines) < 2 || len(lines) > max {
				t.Errorf("%d lines in %v, want 2 to %d", len(lines), elapsed, max)
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, "3.0 of 3.0 MiB") {
				t.Errorf("last line %q, want the whole size", last)
			}
		})
	}
}

// TestProgressStream: the streamed download of a Range server shows the
// same line, from the stub's reads.
func TestProgressStream(t *testing.T) {
	data := bytes.Repeat([]byte("u"), 2<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	u, err := ParseURL(srv.URL + "/f.efi")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := NewSource(u, Options{Progress: &out})
	s.now = (&fakeClock{t: time.Unix(0, 0), step: time.Second}).now
	f, err := s.Files().Open(s.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if out.Len() != 0 {
		t.Errorf("progress %q before the download", out.String())
	}
	body, err := f.(interface{ Stream() (io.ReadCloser, error) }).Stream()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, body)
	body.Close()
	if err != nil || n != int64(len(data)) {
		t.Fatalf("%d bytes, %v", n, err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "\r") || !regexp.MustCompile(`\rukiboot: downloading [^\r]*/f\.efi: 2\.0 of 2\.0 MiB, \d+\.\d MiB/s *\n$`).MatchString(got) {
		t.Errorf("progress %q, want lines ending with one at 2.0 of 2.0 MiB and a newline", got)
	}
}
