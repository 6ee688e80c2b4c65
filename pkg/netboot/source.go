package netboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"time"

	"github.com/ukiboot/ukiboot/pkg/httpra"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Options say how a Source reaches its server.
type Options struct {
	// Client sends the requests (NewClient); nil is Go's default
	// transport without its proxy from the environment (see NewClient).
	// At most httpra.MaxRedirects redirects are followed.
	Client *http.Client
	// MaxSize is the largest UKI (-max-size); 0 means stub.DefaultMaxSize.
	MaxSize int64
	// ReadTimeout bounds every wait for an answer or for body data (not
	// the whole transfer); 0 means httpra.DefaultReadTimeout.
	ReadTimeout time.Duration
	// Progress, when not nil, gets a progress line for a download that
	// takes more than a second.
	Progress io.Writer
	// Ready, when not nil, brings the network up; it is called before
	// each first request of Headers and of Files().Open. Its error is
	// added to a request's error, not returned on its own.
	Ready func(ctx context.Context) error
}

// Source is a UKI served over HTTP(S).
type Source struct {
	u   URL
	o   Options
	now func() time.Time // the progress line's clock
}

// NewSource returns the source of the UKI at u.
func NewSource(u URL, o Options) *Source {
	if o.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		o.Client = &http.Client{Transport: tr}
	}
	return &Source{u: u, o: o, now: time.Now}
}

// URL is the source's URL.
func (s *Source) URL() URL { return s.u }

// Name is the UKI's path in Files: "/" and the last segment of the URL's
// path, or "/uki.efi" when that is empty.
func (s *Source) Name() string {
	base := path.Base(s.u.URL.Path)
	if base == "/" || base == "." || base == ".." || base == "" {
		base = "uki.efi"
	}
	return "/" + base
}

// Headers opens the UKI for listing: an io.ReaderAt that reads it with
// Range requests (64 KiB blocks, cached), and its size. A server without
// Range support gives an error wrapping httpra.ErrNoRange (the UKI is
// then downloaded whole only when it is booted). The reads are bounded
// by ctx.
func (s *Source) Headers(ctx context.Context) (io.ReaderAt, int64, error) {
	f, err := s.open(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !f.Ranged() {
		return nil, 0, fmt.Errorf("%s: %w; it is listed by its URL and downloaded whole when booted", s.u, httpra.ErrNoRange)
	}
	return f, f.Size(), nil
}

// open brings the network up and opens the URL, refusing a UKI over
// MaxSize (a *stub.TooLargeError) before reading its body.
func (s *Source) open(ctx context.Context) (*httpra.File, error) {
	var readyErr error
	if s.o.Ready != nil {
		readyErr = s.o.Ready(ctx)
	}
	timeout := s.o.ReadTimeout
	if timeout <= 0 {
		timeout = httpra.DefaultReadTimeout
	}
	limit := s.o.MaxSize
	if limit <= 0 {
		limit = stub.DefaultMaxSize
	}
	f, err := httpra.OpenTimeout(ctx, s.o.Client, s.u.request(), limit, timeout)
	var tl *httpra.TooLargeError
	switch {
	case errors.As(err, &tl):
		return nil, &stub.TooLargeError{File: s.u.String(), Size: tl.Size, Limit: limit}
	case err != nil && readyErr != nil:
		return nil, fmt.Errorf("%w (bringing the network up failed: %v)", err, readyErr)
	case err != nil:
		return nil, err
	}
	return f, nil
}
