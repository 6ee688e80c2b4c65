package httpra

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirectDowngrade: a redirect from https to http is refused: it
// would silently drop the confidentiality and server authentication TLS
// was asked for (every later Range request and the download would go in
// the clear, to whoever answers on the path).
func TestRedirectDowngrade(t *testing.T) {
	data := testData(BlockSize + 1)
	plain := httptest.NewServer(rangeServer(data))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/f", http.StatusFound)
	}))
	t.Cleanup(tlsSrv.Close)
	f, err := Open(context.Background(), tlsSrv.Client(), tlsSrv.URL+"/f", maxSize)
	if err == nil {
		t.Fatalf("followed a redirect from https to http (size %d)", f.Size())
	}
	if !strings.Contains(err.Error(), "http://") {
		t.Errorf("error %q does not say where the redirect went", err)
	}
}

// TestRedirectPolicyKept: the caller's own redirect policy (the
// client's CheckRedirect) still applies: Open only adds the limit.
func TestRedirectPolicyKept(t *testing.T) {
	data := testData(BlockSize + 1)
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hop") == "" {
			http.Redirect(w, r, "/f?hop=1", http.StatusFound)
			return
		}
		rangeServer(data)(w, r)
	})
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		return fmt.Errorf("no redirects here")
	}}
	if _, err := Open(context.Background(), c, u, maxSize); err == nil || !strings.Contains(err.Error(), "no redirects here") {
		t.Fatalf("Open = %v, want the client's own redirect refusal", err)
	}
}

// TestNoTransparentGunzip: a server that answers with Content-Encoding:
// gzip is read as it sent the bytes (the requests say Accept-Encoding:
// identity, so Go's transport does not gunzip behind the caller's back):
// what is hashed and booted is what came over the wire, and the sizes
// are the wire's.
func TestNoTransparentGunzip(t *testing.T) {
	data := testData(BlockSize + 1)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	var sawIdentity atomic.Bool
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		sawIdentity.Store(r.Header.Get("Accept-Encoding") == "identity")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(gz.Len()))
		w.Write(gz.Bytes())
	})
	f, err := Open(context.Background(), nil, u, maxSize)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(gz.Len()) {
		t.Fatalf("size %d, want the %d bytes on the wire", f.Size(), gz.Len())
	}
	body, err := f.Stream()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || !bytes.Equal(got, gz.Bytes()) {
		t.Fatalf("Stream gave %d bytes, %v; want the %d gzip bytes as sent", len(got), err, gz.Len())
	}
	if !sawIdentity.Load() {
		t.Error("the request did not say Accept-Encoding: identity")
	}
}
