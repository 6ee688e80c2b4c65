//go:build !nonetboot

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// TestListingURLHasADeadline: a server that answers every Range request
// just within -net-read-timeout, for a UKI whose many profiles are spread
// over many blocks, cannot hold the listing (and so the menu and -auto)
// for the sum of its requests: listing one -url has a deadline (twice
// -net-read-timeout), after which the UKI is listed by its URL, bootable,
// with the reason.
func TestListingURLHasADeadline(t *testing.T) {
	secs := []ukitest.Section{
		ukitest.S(".osrel", "ID=slow\nPRETTY_NAME=\"Slow OS\"\n"),
		ukitest.S(".linux", "K"),
	}
	for i := range 40 {
		// Each .profile is over a block: one Range request each.
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\nTITLE=P%d\n#%s\n", i, i, strings.Repeat("x", 70<<10))))
	}
	img := ukitest.UKI(secs...)
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 1 {
			time.Sleep(150 * time.Millisecond) // within the read timeout
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	sys := (&fakeSystem{platform: noPlatform(t)}).sys()
	start := time.Now()
	rc := runWith([]string{"-list", "-verify", "off", "-root", t.TempDir(), "-net-read-timeout", "400ms", "-url", srv.URL + "/slow.efi"}, &stdout, &stderr, sys)
	took := time.Since(start)
	if rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	t.Logf("listing took %v, %d requests", took, requests.Load())
	if took > 3*time.Second {
		t.Errorf("listing one -url took %v (%d requests); want about 2 x -net-read-timeout (800ms)", took, requests.Load())
	}
	for _, want := range []string{"* 1  slow.efi  " + srv.URL + "/slow.efi", "slow.efi: " + srv.URL + "/slow.efi: not listed within 800ms"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("-list lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestProgressOnANonTerminal: on a stderr that is not a terminal (a log
// file, a pipe), a slow download's progress is one line at its end, not
// a line rewritten with \r twice a second for the whole download.
func TestProgressOnANonTerminal(t *testing.T) {
	f := newNetFleet(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.served))
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(f.served)))
		w.WriteHeader(http.StatusOK)
		chunk := len(f.served)/8 + 1
		for b := f.served; len(b) > 0; b = b[min(chunk, len(b)):] {
			w.Write(b[:min(chunk, len(b))])
			w.(http.Flusher).Flush()
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	fs := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-url", srv.URL + "/fleet.efi"}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-NET" {
		t.Fatalf("rc %d, loads %d\n%s", rc, len(fs.loads), stderr.String())
	}
	log := stderr.String()
	if n := strings.Count(log, "downloading "+srv.URL+"/fleet.efi"); n != 1 || strings.Contains(log, "\r") {
		t.Errorf("%d progress lines, \\r %v; want one line, no \\r:\n%q", n, strings.Contains(log, "\r"), log)
	}
}
