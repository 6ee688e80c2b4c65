//go:build !nonetboot

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// fortyProfiles are 40 .profile sections of over a block each: reading
// them takes one Range request each.
func fortyProfiles() []ukitest.Section {
	var secs []ukitest.Section
	for i := range 40 {
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\nTITLE=P%d\n#%s\n", i, i, strings.Repeat("x", 70<<10))))
	}
	return secs
}

// slowServer serves img with Range support and answers every request
// after the first 150 ms late, within a -net-read-timeout of 400ms; it
// counts the requests.
func slowServer(t *testing.T, img []byte) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	requests := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 1 {
			time.Sleep(150 * time.Millisecond) // within the read timeout
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
	}))
	t.Cleanup(srv.Close)
	return srv, requests
}

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
	secs = append(secs, fortyProfiles()...)
	img := ukitest.UKI(secs...)
	srv, requests := slowServer(t, img)
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

// TestUKIURLEntryTakesNothingFromTheDisk: a uki-url entry on a (hostile)
// ESP with initrd and devicetree lines, options, a boot counter, and the
// ESP's credentials and addons: the network UKI boots verified with its
// own .cmdline (enforced), nothing of the disk in its initrd, and the
// .conf is renamed by the boot counting (not with -dry-run); an unsigned
// one is refused whichever way it is chosen.
func TestUKIURLEntryTakesNothingFromTheDisk(t *testing.T) {
	f := newNetFleet(t)
	unsigned := ukitest.UKI(ukitest.S(".osrel", "ID=evil\nPRETTY_NAME=Evil\n"), ukitest.S(".linux", "K-EVIL"))
	mux := http.NewServeMux()
	serve(mux, "/fleet.efi", f.served)
	serve(mux, "/evil.efi", unsigned)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ukitest.WriteTree(t, f.esp, "loader/entries/net+3-0.conf", []byte("title Net\nsort-key aaa\nuki-url "+srv.URL+"/fleet.efi\ninitrd /disk-initrd\ndevicetree /x.dtb\noptions init=/bin/sh\n"))
	ukitest.WriteTree(t, f.esp, "loader/entries/evil.conf", []byte("title Evil\nuki-url "+srv.URL+"/evil.efi\noptions init=/bin/sh\n"))
	ukitest.WriteTree(t, f.esp, "disk-initrd", []byte("DISK-INITRD"))
	ukitest.WriteTree(t, f.esp, "loader/credentials/x.cred", []byte("DISK-CRED"))
	ukitest.WriteTree(t, f.esp, "loader/addons/x.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "ADDON")))
	run := func(args ...string) (*fakeSystem, string) {
		fs := &fakeSystem{platform: noPlatform(t)}
		var stdout, stderr bytes.Buffer
		runWith(append([]string{"-db", f.db, "-root", f.esp}, args...), &stdout, &stderr, fs.sys())
		return fs, stdout.String() + stderr.String()
	}
	fs, out := run("-auto", "-dry-run", "-entry", "net.conf")
	if len(fs.loads) != 0 || !strings.Contains(out, "verified: trusted") {
		t.Errorf("dry-run:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(f.esp, "loader/entries/net+3-0.conf")); err != nil {
		t.Errorf("-dry-run renamed: %v", err)
	}
	fs, out = run("-auto", "-entry", "net.conf")
	if len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-NET" || fs.loads[0].cmdline != "root=net" {
		t.Fatalf("loads %+v\n%s", fs.loads, out)
	}
	for _, disk := range []string{"DISK-INITRD", "DISK-CRED", "ADDON"} {
		if bytes.Contains(fs.loads[0].initrd, []byte(disk)) {
			t.Errorf("the network UKI's initrd holds %s from the disk", disk)
		}
	}
	if _, err := os.Stat(filepath.Join(f.esp, "loader/entries/net+2-1.conf")); err != nil {
		t.Errorf("not renamed: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"-auto", "-entry", "evil.conf"}, {"-auto", "-entry", "evil*"}} {
		fs, out = run(args...)
		for _, l := range fs.loads {
			if string(l.kernel) == "K-EVIL" {
				t.Errorf("%v booted the unsigned network UKI:\n%s", args, out)
			}
		}
	}
}

// TestURLEntryIDsAndCounters: a -url whose name looks like a boot
// counter renames nothing and hands no boot-count path; one whose name
// is a disk entry's id gets its URL as id, so -entry of that id boots the
// disk's entry.
func TestURLEntryIDsAndCounters(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/fleet+3-0.efi", f.served)
	serve(mux, "/disk.efi", f.served)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	fs := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-url", srv.URL + "/fleet+3-0.efi"}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-NET" {
		t.Fatalf("rc %d loads %d\n%s", rc, len(fs.loads), stderr.String())
	}
	if bytes.Contains(fs.loads[0].initrd, []byte("loader-boot-count-path")) || strings.Contains(stderr.String(), "rename") {
		t.Errorf("a -url entry counted its boot:\n%s", stderr.String())
	}
	fs = &fakeSystem{platform: noPlatform(t)}
	stdout.Reset()
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-entry", "disk.efi", "-url", srv.URL + "/disk.efi"}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-DISK" {
		t.Errorf("-entry disk.efi: rc %d loads %+v\n%s", rc, fs.loads, stderr.String())
	}
}

// TestBootPreReadHasADeadline: booting a network UKI reads its headers
// and small sections with Range requests before the one download; a
// server answering each of them just within -net-read-timeout, for a UKI
// whose 40 profiles are spread over 40 blocks, cannot hold -auto for the
// sum of them: the pre-read has a deadline (twice -net-read-timeout),
// then -auto boots the disk entry.
func TestBootPreReadHasADeadline(t *testing.T) {
	f := newNetFleet(t)
	secs := []ukitest.Section{
		ukitest.S(".osrel", "ID=slow\nPRETTY_NAME=\"Slow OS\"\n"),
		ukitest.S(".linux", "K-SLOW"),
	}
	secs = append(secs, fortyProfiles()...)
	img := signedUKI(t, f.key, secs...)
	srv, requests := slowServer(t, img)
	fs := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	start := time.Now()
	rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-net-read-timeout", "400ms", "-url", srv.URL + "/slow.efi"}, &stdout, &stderr, fs.sys())
	took := time.Since(start)
	t.Logf("-auto took %v, %d requests", took, requests.Load())
	if rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-DISK" {
		t.Fatalf("rc %d, loads %d, want K-DISK\n%s", rc, len(fs.loads), stderr.String())
	}
	// The listing (800 ms), then the pre-read (800 ms and one request).
	if took > 4*time.Second {
		t.Errorf("-auto took %v (%d requests) to give up the slow server", took, requests.Load())
	}
	line := ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "cannot boot slow.efi: ") {
			line = l
		}
	}
	if !strings.Contains(line, srv.URL+"/slow.efi: headers not read within 800ms") {
		t.Errorf("log lacks why slow.efi did not boot:\n%s", stderr.String())
	}
}

// TestURLWithoutOSRelIsNotHidden: a -url UKI without a title in .osrel
// is not silently dropped as systemd-boot drops such files on a disk:
// the user named it, so it is listed as invalid with the reason, and
// -auto says why it does not boot it.
func TestURLWithoutOSRelIsNotHidden(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/noosrel.efi", signedUKI(t, f.key, ukitest.S(".linux", "K-NOOSREL"), ukitest.S(".cmdline", "x")))
	serve(mux, "/noname.efi", signedUKI(t, f.key, ukitest.S(".osrel", "VERSION_ID=1\n"), ukitest.S(".linux", "K-NONAME")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct{ name, why string }{{"noosrel.efi", "no .osrel section"}, {"noname.efi", ".osrel sets none of"}} {
		var stdout, stderr bytes.Buffer
		fs := &fakeSystem{platform: noPlatform(t)}
		if rc := runWith([]string{"-auto", "-db", f.db, "-root", f.esp, "-url", srv.URL + "/" + tc.name}, &stdout, &stderr, fs.sys()); rc != 0 || len(fs.loads) != 1 || string(fs.loads[0].kernel) != "K-DISK" {
			t.Fatalf("rc %d, loads %d\n%s", rc, len(fs.loads), stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.name) || !strings.Contains(stderr.String(), tc.why) {
			t.Errorf("-auto does not say why %s was not booted:\n%s", tc.name, stderr.String())
		}
	}
}

// TestNoTerminalEscapesFromTitles: a title with terminal escapes (from a
// served UKI's .osrel, as from a disk's) reaches the log, the plan and
// -list's text as '?', as partition labels do: only the menu sanitized
// them.
func TestNoTerminalEscapesFromTitles(t *testing.T) {
	f := newNetFleet(t)
	mux := http.NewServeMux()
	serve(mux, "/esc.efi", signedUKI(t, f.key, ukitest.S(".osrel", "ID=esc\nPRETTY_NAME=\"Esc\x1b]0;pwned\x07\x1b[2J\x9b2J OS\"\nVERSION_ID=\x1b[8m7\n"), ukitest.S(".linux", "K-ESC")))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, args := range [][]string{{"-auto", "-dry-run"}, {"-list"}, {"-auto"}} {
		var stdout, stderr bytes.Buffer
		fs := &fakeSystem{platform: noPlatform(t)}
		if rc := runWith(append(args, "-db", f.db, "-root", f.esp, "-url", srv.URL+"/esc.efi"), &stdout, &stderr, fs.sys()); rc != 0 {
			t.Fatalf("%v: rc %d\n%s", args, rc, stderr.String())
		}
		out := stdout.String() + stderr.String()
		if strings.ContainsAny(out, "\x1b\x07\u009b") || strings.IndexByte(out, 0x9b) >= 0 || !strings.Contains(out, "Esc?]0;pwned??[2J?2J OS") {
			t.Errorf("%v prints the title's escapes:\n%q", args, out)
		}
	}
}

// TestCAFileErrorNamesItsSource: a CA file that cannot be used is named
// once, by where it came from: -ca FILE, or the ROM's ca.pem, which is
// not a -ca the user gave.
func TestCAFileErrorNamesItsSource(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN CERTIFICATE-----\nbroken\n"), 0o644)
	for _, tc := range []struct {
		name, ca, rom string
		want, not     string
	}{
		{name: "-ca", ca: bad, want: "-ca " + bad},
		{name: "the ROM's ca.pem", rom: "garbage", want: "the ROM's CA file", not: "-ca /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trust := t.TempDir()
			if tc.rom != "" {
				os.WriteFile(filepath.Join(trust, "ca.pem"), []byte(tc.rom), 0o644)
			}
			n := &netBoot{o: &options{ca: tc.ca}, trustDir: trust}
			_, err := n.httpClient()
			if err == nil {
				t.Fatal("a client from a broken CA file")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Count(msg, "-ca /") > 1 || tc.not != "" && strings.Contains(msg, tc.not) {
				t.Errorf("error %q: want %q once (and no %q)", msg, tc.want, tc.not)
			}
		})
	}
}
