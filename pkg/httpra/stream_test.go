package httpra

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStream: the whole-file GET gives exactly the file, or an error
// that says what the server did wrong.
func TestStream(t *testing.T) {
	data := testData(300 << 10)
	whole := func(status int, length string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Range") != "" {
				rangeServer(data)(w, r)
				return
			}
			if length != "" {
				w.Header().Set("Content-Length", length)
			}
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	n := strconv.Itoa(len(data))
	cases := []struct {
		name string
		h    http.HandlerFunc
		err  string // "" for none
	}{
		{name: "whole file", h: rangeServer(data)},
		{name: "server without Range support", h: wholeServer(data)},
		{name: "no Content-Length", h: whole(200, "", data), err: "no Content-Length"},
		{name: "Content-Length too long", h: whole(200, strconv.Itoa(len(data)+1), append(bytes.Clone(data), 'x')), err: "announced 307201 bytes for the whole file, 307200 when it was opened"},
		{name: "fewer bytes than announced", h: whole(200, n, data[:len(data)/2]), err: "sent 153600 of the 307200 bytes"},
		{name: "a part", h: whole(206, n, data), err: "the server sent a part (206"},
		{name: "gone", h: whole(404, "", nil), err: `answered "404 Not Found"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Open(context.Background(), nil, serve(t, c.h), maxSize)
			if err != nil {
				t.Fatal(err)
			}
			body, err := f.Stream()
			var got []byte
			if err == nil {
				got, err = io.ReadAll(body)
				body.Close()
			}
			if c.err == "" {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%d bytes, %v; want the %d bytes of the file", len(got), err, len(data))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one with %q", err, c.err)
			}
		})
	}
}

// TestStreamStall: a body that stops coming fails after the read
// timeout, not at the end of the whole transfer.
func TestStreamStall(t *testing.T) {
	data := testData(300 << 10)
	release := make(chan struct{})
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			rangeServer(data)(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:100<<10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the server closes
	f, err := OpenTimeout(context.Background(), nil, u, maxSize, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	body, err := f.Stream()
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	n, err := io.Copy(io.Discard, body)
	if err == nil || !strings.Contains(err.Error(), "stalled") || n != 100<<10 {
		t.Fatalf("%d bytes, %v; want the 102400 sent, then a stall", n, err)
	}
}

// TestExactBody: a body is exactly its size, whoever reads it; also a
// reader that stops after size bytes learns of more.
func TestExactBody(t *testing.T) {
	cases := []struct {
		name, body string
		size       int64
		err        string
	}{
		{name: "exact", body: "abcdef", size: 6},
		{name: "one more", body: "abcdefg", size: 6, err: "more bytes than announced"},
		{name: "one fewer", body: "abcde", size: 6, err: "sent 5 of the 6 bytes"},
		{name: "empty", body: "", size: 6, err: "sent 0 of the 6 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &exactBody{body: io.NopCloser(strings.NewReader(c.body)), cancel: func() {}, left: c.size, size: c.size, name: "u"}
			got, err := io.ReadAll(io.LimitReader(e, c.size))
			if c.err == "" {
				if err != nil || string(got) != c.body {
					t.Fatalf("%q, %v; want %q", got, err, c.body)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("%q, %v; want an error with %q", got, err, c.err)
			}
			if c.err == "more bytes than announced" && !errors.Is(err, errMore) {
				t.Errorf("error %v is not errMore", err)
			}
		})
	}
}
