// Package nettest serves test files over HTTP on the loopback address and
// counts what the server sends, for the network boot tests' budgets
// (requests and body bytes). It is apart from internal/ukitest so that
// the tools and harnesses that use ukitest do not link net/http.
package nettest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// CountingWriter counts the body bytes a handler writes in N, before
// writing them, so that the count is complete once the client has read
// them.
type CountingWriter struct {
	http.ResponseWriter
	N *atomic.Int64
}

// Write counts p, then writes it.
func (c CountingWriter) Write(p []byte) (int, error) {
	c.N.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

// Flush flushes the underlying ResponseWriter, which must be an
// http.Flusher (httptest's is).
func (c CountingWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

// Server is a loopback HTTP server of one file, at every path, with
// Range support (http.ServeContent).
type Server struct {
	URL      string       // http://127.0.0.1:port, without a path
	Requests atomic.Int64 // requests answered
	Sent     atomic.Int64 // body bytes written
}

// Serve serves the size bytes of content until the test ends.
func Serve(t testing.TB, content io.ReaderAt, size int64) *Server {
	t.Helper()
	s := &Server{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Requests.Add(1)
		http.ServeContent(CountingWriter{w, &s.Sent}, r, "", time.Time{}, io.NewSectionReader(content, 0, size))
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}
