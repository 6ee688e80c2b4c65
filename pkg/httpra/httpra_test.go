package httpra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const maxSize = 1 << 30

func testData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// serve starts a loopback server with h, closed at cleanup.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/f"
}

// rangeServer serves data with http.ServeContent (which supports Range).
func rangeServer(data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(data))
	}
}

// wholeServer ignores Range and always sends the whole body with a 200.
func wholeServer(data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}
}

// rangeOf parses the request's "bytes=A-B".
func rangeOf(t *testing.T, r *http.Request) (int64, int64) {
	var a, b int64
	if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil {
		t.Errorf("Range %q: %v", r.Header.Get("Range"), err)
	}
	return a, b
}

// lyingServer answers each Range correctly on the first request (Open) and
// through edit for later ones: edit gets the range and returns the
// Content-Range to announce and the body to send.
func lyingServer(t *testing.T, data []byte, edit func(a, b int64) (string, []byte)) http.HandlerFunc {
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		n++
		a, b := rangeOf(t, r)
		b = min(b, int64(len(data))-1)
		cr, body := fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)), data[a:b+1]
		if n > 1 {
			cr, body = edit(a, b)
		}
		w.Header().Set("Content-Range", cr)
		w.WriteHeader(http.StatusPartialContent)
		w.Write(body)
	}
}

func TestReadAt(t *testing.T) {
	data := testData(5*BlockSize + 123)
	for _, tc := range []struct {
		name     string
		off, n   int64
		requests int // after Open's
		eof      bool
	}{
		{"first block from Open's cache", 10, 100, 0, false},
		{"one later block", 2*BlockSize + 5, 10, 1, false},
		{"across three missing blocks in one request", BlockSize + 1, 2*BlockSize + 10, 1, false},
		{"tail and past the end", int64(len(data)) - 50, 100, 1, true},
		{"whole file", 0, int64(len(data)), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(context.Background(), nil, serve(t, rangeServer(data)), maxSize)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != int64(len(data)) || !f.Ranged() || f.Requests() != 1 {
				t.Fatalf("Size %d Ranged %v Requests %d, want %d true 1", f.Size(), f.Ranged(), f.Requests(), len(data))
			}
			p := make([]byte, tc.n)
			n, err := f.ReadAt(p, tc.off)
			want := data[tc.off:min(tc.off+tc.n, int64(len(data)))]
			if (err == io.EOF) != tc.eof || (err != nil && err != io.EOF) {
				t.Errorf("err %v, want EOF %v", err, tc.eof)
			}
			if n != len(want) || !bytes.Equal(p[:n], want) {
				t.Errorf("read %d bytes, want %d (equal %v)", n, len(want), bytes.Equal(p[:n], want))
			}
			if got := f.Requests() - 1; got != tc.requests {
				t.Errorf("%d requests after Open, want %d", got, tc.requests)
			}
			// Read again: all cached now.
			before := f.Requests()
			if _, err := f.ReadAt(p, tc.off); err != nil && err != io.EOF {
				t.Errorf("second read: %v", err)
			}
			if f.Requests() != before {
				t.Errorf("second read made %d requests, want 0 (cached)", f.Requests()-before)
			}
			if n, err := f.ReadAt(p[:1], f.Size()); n != 0 || err != io.EOF {
				t.Errorf("ReadAt(Size) = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	data := testData((MaxCachedBlocks + 8) * BlockSize)
	f, err := Open(context.Background(), nil, serve(t, rangeServer(data)), maxSize)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, len(data))
	if n, err := f.ReadAt(p, 0); err != nil || !bytes.Equal(p, data) {
		t.Fatalf("ReadAt = %d, %v (equal %v)", n, err, bytes.Equal(p, data))
	}
	if len(f.blocks) > MaxCachedBlocks || len(f.order) != len(f.blocks) {
		t.Errorf("%d blocks cached (order %d), at most %d", len(f.blocks), len(f.order), MaxCachedBlocks)
	}
}

func TestNoRange(t *testing.T) {
	data := testData(3 * BlockSize)
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		max     int64
		wantErr string
	}{
		{"200 with Content-Length", wholeServer(data), maxSize, ""},
		{"200 shorter than its Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:100])
		}, maxSize, "reading the first 65536 bytes"},
		{"200 without Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			w.Write(data)
		}, maxSize, "neither Range requests nor Content-Length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Open(context.Background(), nil, serve(t, tc.h), tc.max)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Ranged() || f.Size() != int64(len(data)) {
				t.Fatalf("Ranged %v Size %d, want false %d", f.Ranged(), f.Size(), len(data))
			}
			p := make([]byte, 10)
			if _, err := f.ReadAt(p, 100); err != nil || !bytes.Equal(p, data[100:110]) {
				t.Errorf("read in the first block: %v", err)
			}
			if _, err := f.ReadAt(p, BlockSize); !errors.Is(err, ErrNoRange) {
				t.Errorf("read beyond the first block: %v, want ErrNoRange", err)
			}
		})
	}
}

func TestBadAnswers(t *testing.T) {
	data := testData(4 * BlockSize)
	size := len(data)
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		open    bool // the error comes from Open, not ReadAt
		wantErr string
	}{
		{"404", http.NotFound, true, `"404 Not Found": check the URL`},
		{"416", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(416) }, true, "probably empty"},
		{"403", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, true, "refuses access"},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "x", 500) }, true, "try again later"},
		{"wrong Content-Range on Open", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 1-%d/%d", BlockSize, size))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[1 : BlockSize+1])
		}, true, "answered Content-Range"},
		{"short body on Open", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", BlockSize-1, size))
			w.WriteHeader(http.StatusPartialContent)
			w.(http.Flusher).Flush()
			w.Write(data[:100])
		}, true, "sent 100 of the 65536 bytes"},
		{"short body", lyingServer(t, data, func(a, b int64) (string, []byte) {
			return fmt.Sprintf("bytes %d-%d/%d", a, b, size), data[a:b]
		}), false, "announced"},
		{"long body", lyingServer(t, data, func(a, b int64) (string, []byte) {
			return fmt.Sprintf("bytes %d-%d/%d", a, b, size), data[a : b+2]
		}), false, "announced"},
		{"long body with its Content-Length", func() http.HandlerFunc {
			n := 0
			return func(w http.ResponseWriter, r *http.Request) {
				if n++; n == 1 {
					rangeServer(data)(w, r)
					return
				}
				a, b := rangeOf(t, r)
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
				w.Header().Set("Content-Length", strconv.FormatInt(b-a+2, 10))
				w.WriteHeader(http.StatusPartialContent)
				w.Write(data[a : b+2])
			}
		}(), false, "Content-Length against Content-Range"},
		{"wrong Content-Range", lyingServer(t, data, func(a, b int64) (string, []byte) {
			return fmt.Sprintf("bytes %d-%d/%d", a+1, b+1, size), data[a+1 : b+2]
		}), false, "answered Content-Range"},
		{"other total", lyingServer(t, data, func(a, b int64) (string, []byte) {
			return fmt.Sprintf("bytes %d-%d/%d", a, b, size+1), data[a : b+1]
		}), false, "answered Content-Range"},
		{"200 full body after 206", func() http.HandlerFunc {
			n := 0
			return func(w http.ResponseWriter, r *http.Request) {
				if n++; n == 1 {
					rangeServer(data)(w, r)
					return
				}
				wholeServer(data)(w, r)
			}
		}(), false, "sent the whole file (200)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, tc.h)
			f, err := Open(context.Background(), nil, u, maxSize)
			if !tc.open {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				_, err = f.ReadAt(make([]byte, 10), 2*BlockSize)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), u) {
				t.Fatalf("err %v, want one naming %s and containing %q", err, u, tc.wantErr)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	data := testData(BlockSize + 1)
	for _, tc := range []struct {
		name    string
		hops    int // redirects before the file; -1: a loop
		wantErr bool
	}{
		{"chain of 3", 3, false},
		{"chain of 10", MaxRedirects, false},
		{"chain of 11", MaxRedirects + 1, true},
		{"loop", -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.hops < 0 {
					http.Redirect(w, r, r.URL.Path, http.StatusFound)
					return
				}
				hop, _ := strconv.Atoi(r.URL.Query().Get("hop"))
				if hop < tc.hops {
					http.Redirect(w, r, fmt.Sprintf("/f?hop=%d", hop+1), http.StatusFound)
					return
				}
				rangeServer(data)(w, r)
			})
			f, err := Open(context.Background(), nil, u, maxSize)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "redirects") || !strings.Contains(err.Error(), u) {
					t.Fatalf("err %v, want a redirect error naming %s", err, u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, 1)
			if _, err := f.ReadAt(p, BlockSize); err != nil || p[0] != data[BlockSize] {
				t.Fatalf("ReadAt: %v", err)
			}
		})
	}
}

func TestStall(t *testing.T) {
	data := testData(2 * BlockSize)
	for _, tc := range []struct {
		name string
		when string // "headers": before headers; "body": after some body
	}{
		{"no headers", "headers"},
		{"body stalls", "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			u := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.when == "body" {
					w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", BlockSize-1, len(data)))
					w.WriteHeader(http.StatusPartialContent)
					w.Write(data[:100])
					w.(http.Flusher).Flush()
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			t.Cleanup(func() { close(release) }) // before the server's Close
			f, err := OpenTimeout(context.Background(), nil, u, maxSize, 50*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), u) ||
				!strings.Contains(err.Error(), "50ms") {
				t.Fatalf("Open = %v, %v; want a timeout error naming %s", f, err, u)
			}
		})
	}
}

func TestMax(t *testing.T) {
	data := testData(BlockSize + 10)
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"206", rangeServer(data)},
		{"200", wholeServer(data)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, tc.h)
			if _, err := Open(context.Background(), nil, u, int64(len(data))); err != nil {
				t.Fatalf("at the maximum: %v", err)
			}
			_, err := Open(context.Background(), nil, u, int64(len(data))-1)
			if err == nil || !strings.Contains(err.Error(), "more than the maximum") || !strings.Contains(err.Error(), u) {
				t.Fatalf("one byte over the maximum: %v", err)
			}
		})
	}
}

func TestSmallFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		wantErr string
	}{
		{"one byte", 1, ""},
		{"under one block", 100, ""},
		{"exactly one block", BlockSize, ""},
		{"empty", 0, "empty; check the URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := testData(tc.size)
			u := serve(t, rangeServer(data))
			f, err := Open(context.Background(), nil, u, maxSize)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), u) {
					t.Fatalf("err %v, want %q naming %s", err, tc.wantErr, u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := make([]byte, tc.size+10)
			n, err := f.ReadAt(p, 0)
			if n != tc.size || err != io.EOF || !bytes.Equal(p[:n], data) || f.Size() != int64(tc.size) || f.Requests() != 1 {
				t.Fatalf("ReadAt = %d, %v (equal %v); Size %d, Requests %d; want %d, EOF, one request",
					n, err, bytes.Equal(p[:n], data), f.Size(), f.Requests(), tc.size)
			}
		})
	}
}
