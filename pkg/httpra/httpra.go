// Package httpra reads a file served over HTTP(S) as an io.ReaderAt, with
// one Range request per run of missing blocks and a small bounded cache,
// so that pkg/uki can list a UKI's headers and small sections over the
// network without downloading its kernel.
//
// Every response is checked: a ranged read must be a 206 with exactly the
// Content-Range asked for and exactly that many bytes. A server without
// Range support is detected by Open (Ranged reports false); callers then
// download the file whole with Stream, which is also the one download of
// a file whose headers were read with Range requests: one GET whose body
// must be exactly the size Open learnt. Each read of a body has its own
// deadline, so a transfer that stalls after its headers fails instead of
// hanging, and a body must come at MinRate or faster once it has taken
// longer than that deadline, so that a server trickling bytes cannot hold
// a boot for ever either.
//
// u-root's pkg/curl is not used: the io.ReaderAt of its Fetch caches one
// GET read from the start, so reading the signature table at the end of
// a UKI downloads the whole file, and it has no per-read deadline and no
// size bound.
package httpra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// BlockSize is the unit of caching and of Range requests; Open's
	// request fetches the first block.
	BlockSize = 64 << 10
	// MaxCachedBlocks bounds the cache (4 MiB in all).
	MaxCachedBlocks = 64
	// maxRun bounds the blocks of one request, and so its buffer.
	maxRun = MaxCachedBlocks
	// MaxRequests bounds the requests of a File's Open and ReadAt calls
	// (Stream, the one download, is never refused): listing a UKI takes a few,
	// while a file whose small sections are spread over many blocks
	// could take one per read, each of which a hostile server may answer
	// just before the read timeout.
	MaxRequests = 64
	// MaxRedirects is how many redirects a request follows.
	MaxRedirects = 10
	// DefaultReadTimeout is the deadline of each read (headers, then
	// every read of a body) used by Open.
	DefaultReadTimeout = 30 * time.Second
)

// ErrNoRange is returned by ReadAt beyond the first block when the server
// does not support Range requests.
var ErrNoRange = errors.New("the server does not support Range requests")

// TooLargeError is returned by Open for a file larger than its maximum,
// before its body is read.
type TooLargeError struct {
	Name      string // the URL without user, password or fragment
	Size, Max int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("httpra: %s: %d bytes, more than the maximum of %d; raise the maximum or serve a smaller file", e.Name, e.Size, e.Max)
}

// File is a file served over HTTP(S), read with Range requests. Its
// methods are safe for concurrent use.
type File struct {
	ctx     context.Context
	client  *http.Client
	url     string // for requests
	name    string // for messages: the URL without user, password or fragment
	size    int64
	ranged  bool
	timeout time.Duration

	mu       sync.Mutex
	blocks   map[int64][]byte
	order    []int64 // cached blocks, oldest first
	requests int
}

// Open is OpenTimeout with DefaultReadTimeout.
func Open(ctx context.Context, c *http.Client, rawURL string, max int64) (*File, error) {
	return OpenTimeout(ctx, c, rawURL, max, DefaultReadTimeout)
}

// OpenTimeout learns the size of the file at rawURL, and whether its server
// supports Range requests, with one GET of the first block (kept in the
// cache). An empty file, or one larger than max bytes, is refused. c may
// be nil (a client with Go's defaults); its redirect policy is replaced by
// one that follows at most MaxRedirects. Every wait for headers or body data fails after
// timeout. ctx bounds every request of the File.
func OpenTimeout(ctx context.Context, c *http.Client, rawURL string, max int64, timeout time.Duration) (*File, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("httpra: %q is not a URL: %v; give an absolute http:// or https:// URL", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpra: %s: not an absolute http:// or https:// URL; give one", Display(u))
	}
	f := &File{ctx: ctx, client: limitRedirects(c), url: rawURL, name: Display(u),
		timeout: timeout, blocks: map[int64][]byte{}}
	resp, cancel, err := f.get(0, BlockSize-1)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		err = f.openRanged(resp, max)
	case http.StatusOK:
		err = f.openWhole(resp, max)
	default:
		err = f.statusError(resp)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Display is u as messages name it: without user, password and
// fragment (pkg/netboot's URL.String is it too).
func Display(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// openRanged takes the size from the 206 answer to Open's request.
func (f *File) openRanged(resp *http.Response, max int64) error {
	cr := resp.Header.Get("Content-Range")
	start, stop, total, ok := parseContentRange(cr)
	if !ok || start != 0 || total <= 0 || stop != min(BlockSize, total)-1 {
		return fmt.Errorf("httpra: %s: asked for bytes 0-%d, the server answered Content-Range %q; fix the server (or use one without Range support)",
			f.name, BlockSize-1, cr)
	}
	if total > max {
		return &TooLargeError{Name: f.name, Size: total, Max: max}
	}
	f.size, f.ranged = total, true
	b, err := f.readBody(resp, stop+1)
	if err != nil {
		return err
	}
	f.store(0, b)
	return nil
}

// openWhole takes the size from a 200's Content-Length, and keeps the
// first block of the body (reading no further).
func (f *File) openWhole(resp *http.Response, max int64) error {
	n := resp.ContentLength
	if n < 0 {
		return fmt.Errorf("httpra: %s: the server supports neither Range requests nor Content-Length, so the size is unknown; fix the server", f.name)
	}
	if n > max {
		return &TooLargeError{Name: f.name, Size: n, Max: max}
	}
	if n == 0 {
		return fmt.Errorf("httpra: %s: the file is empty; check the URL and serve a UKI", f.name)
	}
	f.size = n
	b := make([]byte, min(n, BlockSize))
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return fmt.Errorf("httpra: %s: reading the first %d bytes: %w; check the server and the network", f.name, len(b), err)
	}
	f.store(0, b)
	return nil
}

// Size is the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Ranged reports whether the server supports Range requests. When false,
// ReadAt serves only the first block and callers download the file whole.
func (f *File) Ranged() bool { return f.ranged }

// Requests is the number of HTTP requests made so far (Open's included;
// redirects are followed within one request).
func (f *File) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// ReadAt implements io.ReaderAt: it serves p from the cache and fetches
// each run of missing blocks with one Range request.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("httpra: %s: negative offset %d", f.name, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), f.size)
	f.mu.Lock()
	defer f.mu.Unlock()
	for b := off / BlockSize; b*BlockSize < end; {
		data, ok := f.blocks[b]
		run := int64(1)
		if !ok {
			var err error
			if data, run, err = f.fetchRun(b, end); err != nil {
				return int(max(b*BlockSize-off, 0)), err
			}
		}
		base := b * BlockSize
		lo, hi := max(off, base), min(end, base+int64(len(data)))
		copy(p[lo-off:hi-off], data[lo-base:hi-base])
		b += run
	}
	if n := int(end - off); n < len(p) {
		return n, io.EOF
	}
	return len(p), nil
}

// fetchRun fetches the run of missing blocks that starts at block b and
// ends before offset end (at most maxRun blocks), caches them and returns
// their bytes and how many blocks they are.
func (f *File) fetchRun(b, end int64) ([]byte, int64, error) {
	if !f.ranged {
		return nil, 0, fmt.Errorf("httpra: %s: reading beyond the first %d bytes: %w; download the file whole", f.name, BlockSize, ErrNoRange)
	}
	if f.requests >= MaxRequests {
		return nil, 0, fmt.Errorf("httpra: %s: reading byte %d would take more than %d Range requests; the bytes read are spread over too much of the file (a hostile layout?)",
			f.name, b*BlockSize, MaxRequests)
	}
	run := int64(1)
	for run < maxRun && (b+run)*BlockSize < end {
		if _, ok := f.blocks[b+run]; ok {
			break
		}
		run++
	}
	start, stop := b*BlockSize, min((b+run)*BlockSize, f.size)-1
	data, err := f.fetch(start, stop)
	if err != nil {
		return nil, 0, err
	}
	for i := range run {
		lo := i * BlockSize
		f.store(b+i, data[lo:min(lo+BlockSize, int64(len(data)))])
	}
	return data, run, nil
}

// fetch gets bytes start..stop (inclusive) with one Range request and
// checks the answer is exactly them.
func (f *File) fetch(start, stop int64) ([]byte, error) {
	resp, cancel, err := f.get(start, stop)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK:
		return nil, fmt.Errorf("httpra: %s: asked for bytes %d-%d, the server sent the whole file (200) although it supported Range requests when opened; fix the server", f.name, start, stop)
	default:
		return nil, f.statusError(resp)
	}
	cr := resp.Header.Get("Content-Range")
	if want := fmt.Sprintf("bytes %d-%d/%d", start, stop, f.size); cr != want {
		return nil, fmt.Errorf("httpra: %s: asked for bytes %d-%d, the server answered Content-Range %q instead of %q; fix the server (did the file change?)",
			f.name, start, stop, cr, want)
	}
	return f.readBody(resp, stop-start+1)
}

// readBody reads exactly n bytes of a 206's body and checks nothing follows.
func (f *File) readBody(resp *http.Response, n int64) ([]byte, error) {
	if resp.ContentLength >= 0 && resp.ContentLength != n {
		return nil, fmt.Errorf("httpra: %s: the server announced %d bytes for a range of %d (Content-Length against Content-Range); fix the server",
			f.name, resp.ContentLength, n)
	}
	b := make([]byte, n)
	if got, err := io.ReadFull(resp.Body, b); err != nil {
		return nil, fmt.Errorf("httpra: %s: the server sent %d of the %d bytes it announced: %w; check the server and the network", f.name, got, n, err)
	}
	var one [1]byte
	if got, err := resp.Body.Read(one[:]); got > 0 || (err != nil && err != io.EOF) {
		if err == nil || err == io.EOF {
			err = errors.New("more bytes than announced")
		}
		return nil, fmt.Errorf("httpra: %s: after the %d bytes announced: %w; fix the server", f.name, n, err)
	}
	return b, nil
}

// store caches block b, evicting the oldest when the cache is full.
func (f *File) store(b int64, data []byte) {
	if _, ok := f.blocks[b]; ok {
		return
	}
	if len(f.order) >= MaxCachedBlocks {
		delete(f.blocks, f.order[0])
		f.order = f.order[1:]
	}
	f.blocks[b] = data
	f.order = append(f.order, b)
}

// statusError explains an answer that is neither 200 nor 206.
func (f *File) statusError(resp *http.Response) error {
	what := "check the URL and that the server serves the file"
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		what = "the file is probably empty; check the URL and serve a UKI"
	case resp.StatusCode >= 500:
		what = "the server failed; try again later or check the server's log"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		what = "the server refuses access; check its permissions"
	}
	return fmt.Errorf("httpra: %s: the server answered %q: %s", f.name, resp.Status, what)
}

// parseContentRange parses "bytes START-STOP/TOTAL".
func parseContentRange(s string) (start, stop, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	a, b, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	stop, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || stop < start || stop >= total {
		return 0, 0, 0, false
	}
	return start, stop, total, true
}
