package httpra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Stream gets the whole file with one GET without Range and returns its
// body, which must be exactly Size bytes: the one download of a file
// whose headers were read through ReadAt. A status other than 200, a
// missing Content-Length or one other than Size, a body that ends early
// or goes on past Size are errors (the last two from Read), and so is any read that
// waits longer than the File's timeout. The caller closes the body.
func (f *File) Stream() (io.ReadCloser, error) {
	resp, cancel, err := f.get(0, -1)
	if err != nil {
		return nil, err
	}
	if err := f.checkWhole(resp); err != nil {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	return &exactBody{body: resp.Body, cancel: cancel, left: f.size, size: f.size, name: f.name}, nil
}

// checkWhole checks the answer to Stream's request.
func (f *File) checkWhole(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusPartialContent:
		return fmt.Errorf("httpra: %s: asked for the whole file, the server sent a part (206, Content-Range %q); fix the server",
			f.name, resp.Header.Get("Content-Range"))
	default:
		return f.statusError(resp)
	}
	n := resp.ContentLength
	if n < 0 {
		return fmt.Errorf("httpra: %s: the server did not announce the file's size (no Content-Length); fix the server", f.name)
	}
	if n != f.size {
		return fmt.Errorf("httpra: %s: the server announced %d bytes for the whole file, %d when it was opened; fix the server (did the file change?)",
			f.name, n, f.size)
	}
	return nil
}

// errMore is the cause of a body that goes on past its size.
var errMore = errors.New("more bytes than announced")

// exactBody is a body that must be exactly size bytes: it ends with
// io.EOF after the last of them, or with an error.
type exactBody struct {
	body       io.ReadCloser
	cancel     context.CancelFunc
	left, size int64
	name       string
}

func (e *exactBody) Read(p []byte) (int, error) {
	if e.left == 0 {
		return 0, e.checkEnd()
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.body.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		// Say at once whether more follows, also to a reader that
		// stops after size bytes.
		if err := e.checkEnd(); err != io.EOF {
			return n, err
		}
		return n, nil
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("httpra: %s: the server sent %d of the %d bytes it announced: %w; check the server and the network",
			e.name, e.size-e.left, e.size, io.ErrUnexpectedEOF)
	case err != nil:
		return n, fmt.Errorf("httpra: %s: after %d of %d bytes: %w", e.name, e.size-e.left, e.size, err)
	}
	return n, nil
}

// checkEnd returns io.EOF when the body ends after its size bytes.
func (e *exactBody) checkEnd() error {
	var one [1]byte
	n, err := e.body.Read(one[:])
	for i := 0; n == 0 && err == nil && i < 100; i++ { // io.Reader allows 0, nil; not forever
		n, err = e.body.Read(one[:])
	}
	if n == 0 && err == nil {
		err = io.ErrNoProgress
	}
	switch {
	case n > 0:
		err = errMore
	case err == io.EOF:
		return io.EOF
	}
	return fmt.Errorf("httpra: %s: after the %d bytes announced: %w; fix the server", e.name, e.size, err)
}

func (e *exactBody) Close() error {
	err := e.body.Close()
	e.cancel()
	return err
}
