package netboot_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestErrorsHideUserinfo: the user and password of a URL appear in no
// message, also when the request itself fails (Go's *url.Error masks a
// password but keeps the user, and a token given as the user whole).
func TestErrorsHideUserinfo(t *testing.T) {
	addr := closedPort(t)
	for _, raw := range []string{
		"http://TOKEN1234@" + addr + "/fleet.efi",
		"http://USERNAME:secret@" + addr + "/fleet.efi",
	} {
		u, err := netboot.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		src := netboot.NewSource(u, netboot.Options{ReadTimeout: 2 * time.Second})
		_, _, err = src.Headers(context.Background())
		if err == nil {
			t.Fatal("Headers succeeded against a closed port")
		}
		_, err2 := src.Files().Open(src.Name())
		_, err3 := stub.Build(stub.Target{Entry: stub.PlanEntry{ID: "x", Path: u.String()}, Files: src.Files(), UKI: src.Name()}, stub.Policy{})
		for _, e := range []error{err, err2, err3} {
			if e == nil {
				t.Fatal("no error against a closed port")
			}
			for _, secret := range []string{"TOKEN1234", "USERNAME", "secret"} {
				if strings.Contains(e.Error(), secret) {
					t.Errorf("error %q shows %q of the URL's userinfo", e, secret)
				}
			}
		}
	}
}

// TestListingRequestsBounded: a UKI laid out so that listing it misses
// the cache at every read (many profiles, each .osrel in its own 64 KiB
// block) cannot make the listing send an unbounded number of Range
// requests, each of which a hostile server may answer just before the
// read timeout: the File refuses to send more than a bounded number.
func TestListingRequestsBounded(t *testing.T) {
	const profiles = 200
	pad := bytes.Repeat([]byte{0xa5}, 64<<10)
	secs := []ukitest.Section{ukitest.S(".osrel", "ID=fleet\n"), ukitest.S(".linux", "K")}
	for i := range profiles {
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\n", i)), ukitest.S(".osrel", fmt.Sprintf("ID=fleet\nVERSION_ID=%d\n", i)), ukitest.B(".pad", pad))
	}
	img := ukitest.UKI(secs...)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
	}))
	t.Cleanup(srv.Close)
	u, err := netboot.ParseURL(srv.URL + "/fleet.efi")
	if err != nil {
		t.Fatal(err)
	}
	r, n, err := netboot.NewSource(u, netboot.Options{}).Headers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	k, err := uki.Read(r, n, u.String(), uki.KindUKI)
	listed := 0
	if err == nil {
		for _, p := range k.Profiles() {
			if _, err = k.Text(p, uki.SectionOSRel); err != nil {
				break
			}
			listed++
		}
	}
	t.Logf("%d profiles listed with %d requests: %v", listed, requests.Load(), err)
	if err != nil && !strings.Contains(err.Error(), "Range requests") {
		t.Errorf("error %v, want one about too many Range requests", err)
	}
	if requests.Load() > 64 {
		t.Errorf("%d requests to list one UKI, want at most 64", requests.Load())
	}
}
