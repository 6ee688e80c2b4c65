package httpra

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trickle sends headers at once, then body (or body[:0] for Range
// requests it answers with 206) one byte every gap, a gap shorter than
// the read timeout, so that no single read ever stalls.
func trickle(data []byte, gap time.Duration, ranged bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := data
		if rg := r.Header.Get("Range"); rg != "" {
			if !ranged {
				rangeServer(data)(w, r)
				return
			}
			var a, b int64
			fmt.Sscanf(rg, "bytes=%d-%d", &a, &b)
			b = min(b, int64(len(data))-1)
			body = data[a : b+1]
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.(http.Flusher).Flush()
		for i := range body {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(gap):
			}
			w.Write(body[i : i+1])
			w.(http.Flusher).Flush()
		}
	}
}

// TestTrickleBounded: a server that sends one byte every gap just under
// the read timeout (slowloris) cannot hold a transfer for longer than a
// bounded time: the body must come at MinRate or faster once it has taken
// longer than the read timeout. Without that, a hostile server or anyone
// on the path holds an unattended boot forever, and -auto never falls
// back to the next entry.
func TestTrickleBounded(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const gap = 100 * time.Millisecond
	data := testData(2 * BlockSize)
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, u string) error
	}{
		{"Open's first block", func(ctx context.Context, u string) error {
			_, err := OpenTimeout(ctx, nil, u, maxSize, timeout)
			return err
		}},
		{"Stream", func(ctx context.Context, u string) error {
			f, err := OpenTimeout(ctx, nil, u, maxSize, timeout)
			if err != nil {
				return fmt.Errorf("Open: %w", err)
			}
			body, err := f.Stream()
			if err != nil {
				return err
			}
			defer body.Close()
			_, err = io.Copy(io.Discard, body)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serve(t, trickle(data, gap, tc.name != "Stream"))
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel) // before the server's Close
			done := make(chan error, 1)
			go func() { done <- tc.run(ctx, u) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "too slow") || !strings.Contains(err.Error(), u) {
					t.Fatalf("error %v, want a too-slow error naming %s", err, u)
				}
			case <-time.After(10 * timeout):
				t.Fatalf("a body trickling one byte every %v still runs after %v (read timeout %v)", gap, 10*timeout, timeout)
			}
		})
	}
}
