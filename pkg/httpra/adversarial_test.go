package httpra

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
