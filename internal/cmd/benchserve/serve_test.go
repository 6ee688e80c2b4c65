package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock advances only when the pacer sleeps.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration // each sleep's length
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(t time.Time) {
	if t.After(c.now) {
		c.sleeps = append(c.sleeps, t.Sub(c.now))
		c.now = t
	}
}

func (c *fakeClock) elapsed(start time.Time) time.Duration { return c.now.Sub(start) }

// testRoot is a served directory with a 200,000-byte file big.efi and a
// directory, beside a file outside it and a symbolic link to that file.
func testRoot(t *testing.T) (*os.Root, []byte) {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "served")
	body := bytes.Repeat([]byte("0123456789"), 20000)
	for name, data := range map[string][]byte{"served/big.efi": body, "secret": []byte("outside")} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(parent, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root, body
}

func TestServe(t *testing.T) {
	root, body := testRoot(t)
	for _, tc := range []struct {
		name, method, path, rangeHdr string
		wantStatus                   int
		wantBody                     []byte
	}{
		{"a whole file", "GET", "/big.efi", "", 200, body},
		{"a range of it, as ukiboot lists a UKI", "GET", "/big.efi", "bytes=10-19", 206, body[10:20]},
		{"its tail", "GET", "/big.efi", "bytes=-5", 206, body[len(body)-5:]},
		{"HEAD has no body", "HEAD", "/big.efi", "", 200, nil},
		{"a missing file", "GET", "/nothere.efi", "", 404, nil},
		{"a directory is not listed", "GET", "/sub", "", 404, nil},
		{"the root is not listed", "GET", "/", "", 404, nil},
		{"dot-dot stays inside the root", "GET", "/../secret", "", 404, nil},
		{"a symbolic link out of the root", "GET", "/escape", "", 404, nil},
		{"no uploads", "PUT", "/big.efi", "", 405, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.rangeHdr != "" {
				r.Header.Set("Range", tc.rangeHdr)
			}
			w := httptest.NewRecorder()
			server{root: root, clock: &fakeClock{}}.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if tc.wantBody != nil && !bytes.Equal(w.Body.Bytes(), tc.wantBody) {
				t.Errorf("body of %d bytes, want %d bytes %.20q", w.Body.Len(), len(tc.wantBody), tc.wantBody)
			}
			if tc.method == "HEAD" && w.Header().Get("Content-Length") != "200000" {
				t.Errorf("HEAD: Content-Length %q, want 200000", w.Header().Get("Content-Length"))
			}
			if strings.Contains(w.Body.String(), "outside") {
				t.Errorf("served the file outside the root")
			}
		})
	}
}

// TestPacedResponses: with -rate every body takes its size / rate on the
// fake clock, a whole file and a range alike, and is delivered whole.
func TestPacedResponses(t *testing.T) {
	root, body := testRoot(t)
	const rate = 100000 // bytes/s: the 200,000-byte file takes 2 s
	for _, tc := range []struct {
		name, rangeHdr string
		want           []byte
		wantTime       time.Duration
	}{
		{"the whole file at the rate", "", body, 2 * time.Second},
		{"a range of 64 KiB + 1 at the same rate", "bytes=1000-66536", body[1000:66537], 65537 * time.Second / rate},
		{"a small range", "bytes=0-99", body[:100], time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1e9, 0)}
			start := clk.now
			r := httptest.NewRequest("GET", "/big.efi", nil)
			if tc.rangeHdr != "" {
				r.Header.Set("Range", tc.rangeHdr)
			}
			w := httptest.NewRecorder()
			server{root: root, rate: rate, clock: clk}.ServeHTTP(w, r)
			if !bytes.Equal(w.Body.Bytes(), tc.want) {
				t.Fatalf("body of %d bytes, want %d", w.Body.Len(), len(tc.want))
			}
			if got := clk.elapsed(start); got != tc.wantTime {
				t.Errorf("took %v on the paced link, want %v", got, tc.wantTime)
			}
		})
	}
}

// TestPacer: the link's time does not depend on how the body is cut into
// writes, and no write runs ahead of the link by more than a chunk.
func TestPacer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []int
	}{
		{"one large write", []int{1 << 20}},
		{"many small writes", []int{1, 4095, 32768, 32768, 1000, 977943}},
		{"writes of a chunk each", []int{paceChunk, paceChunk, 1<<20 - 2*paceChunk}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Unix(1e9, 0)}
			start := clk.now
			w := &pacedWriter{ResponseWriter: httptest.NewRecorder(), pace: pacer{rate: 1 << 20, clock: clk}}
			var sent int
			for _, n := range tc.writes {
				if _, err := w.Write(make([]byte, n)); err != nil {
					t.Fatal(err)
				}
				sent += n
				// At 1 MiB/s, sent bytes take sent µs * 1e6 / 2^20.
				if want := time.Duration(float64(sent) / (1 << 20) * float64(time.Second)); clk.elapsed(start) != want {
					t.Fatalf("after %d bytes: %v on the link, want %v", sent, clk.elapsed(start), want)
				}
			}
			for i, s := range clk.sleeps {
				if s > paceChunk*time.Second/(1<<20) {
					t.Errorf("sleep %d of %v: more than a chunk's time", i, s)
				}
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		wantErr string
	}{
		{"127.0.0.1:0", ""},
		{"[::1]:8080", ""},
		{"0.0.0.0:8080", "not a loopback"},
		{":8080", "not a loopback"},
		{"localhost:8080", "not a loopback"},
		{"192.168.1.1:80", "not a loopback"},
		{"127.0.0.1", "missing port"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := loopbackOnly(tc.addr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// The status of a request for the server's own 404 page is not paced: a
// sanity check that pacing wraps bodies of files only.
func TestNotFoundIsNotPaced(t *testing.T) {
	root, _ := testRoot(t)
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	w := httptest.NewRecorder()
	server{root: root, rate: 1, clock: clk}.ServeHTTP(w, httptest.NewRequest("GET", "/nothere", nil))
	if w.Code != http.StatusNotFound || len(clk.sleeps) != 0 {
		t.Fatalf("status %d after %d sleeps, want 404 after none", w.Code, len(clk.sleeps))
	}
}
