package main

import (
	"bytes"
	"encoding/pem"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// writeSparse writes b to name, leaving runs of zeros as holes.
func writeSparse(t testing.TB, name string, b []byte) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const chunk = 64 << 10
	zero := make([]byte, chunk)
	for off := 0; off < len(b); off += chunk {
		c := b[off:min(off+chunk, len(b))]
		if len(c) == chunk && bytes.Equal(c, zero) {
			continue
		}
		if _, err := f.WriteAt(c, int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		t.Fatal(err)
	}
}

// bigUKIs writes n UKIs whose .linux is size bytes (sparse) under a new
// ESP.
func bigUKIs(t testing.TB, n, size int) string {
	esp := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	img := ukitest.UKI(ukitest.S(".osrel", "ID=big\nVERSION_ID=1\n"), ukitest.S(".cmdline", "quiet"), ukitest.B(".linux", make([]byte, size)))
	for i := range n {
		writeSparse(t, filepath.Join(esp, "EFI/Linux", "big-"+string(rune('a'+i%26))+string(rune('a'+i/26))+".efi"), img)
	}
	return esp
}

// readCounter counts the bytes read of each UKI through the readers it
// wraps (system.wrapUKI: the entry scanner's and the verdicts').
type readCounter struct {
	mu sync.Mutex
	n  map[string]int64 // by the name the UKI is read under
}

func newReadCounter() *readCounter { return &readCounter{n: map[string]int64{}} }

func (c *readCounter) wrap(name string, r io.ReaderAt) io.ReaderAt {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[name] += 0 // a UKI opened but not read still counts as seen
	return countingReaderAt{c, name, r}
}

// counts is how many bytes were read of each UKI so far.
func (c *readCounter) counts() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

type countingReaderAt struct {
	c    *readCounter
	name string
	r    io.ReaderAt
}

func (r countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	r.c.mu.Lock()
	r.c.n[r.name] += int64(n)
	r.c.mu.Unlock()
	return n, err
}

// checkReads fails unless the n UKIs named big-*.efi were each read, and
// each at least min and at most max bytes.
func checkReads(t *testing.T, counts map[string]int64, n int, min, max int64) {
	t.Helper()
	seen := 0
	for name, got := range counts {
		if !strings.Contains(name, "big-") {
			continue
		}
		seen++
		if got < min || got > max {
			t.Errorf("%s: %d bytes read, want %d to %d", name, got, min, max)
		}
	}
	if seen != n {
		t.Errorf("%d UKIs read through the counter, want %d: %v", seen, n, counts)
	}
}

// -list reads headers and small sections only: at most 128 KiB per
// 200 MiB UKI, counted by an io.ReaderAt wrapping the reader each UKI is
// read through. -list -verify-all, which hashes each UKI in full, shows
// that the counter sees the verdicts' reads too. The whole process's
// rchar (/proc/self/io) is held to the same bound, for reads that would
// bypass the wrapper.
func TestListReadsHeadersOnly(t *testing.T) {
	const n, limit = 3, 128 << 10
	big, small := bigUKIs(t, n, 200<<20), bigUKIs(t, n, 1<<20)
	for _, tc := range []struct {
		name     string
		args     []string
		min, max int64 // bytes read per UKI
	}{
		{"text", []string{"-list", "-root", big}, 1, limit},
		{"json", []string{"-list", "-json", "-root", big}, 1, limit},
		{"verify-all reads 1 MiB UKIs whole", []string{"-list", "-verify-all", "-root", small}, 1 << 20, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			reads := newReadCounter()
			sys := f.sys()
			sys.wrapUKI = reads.wrap
			var stdout, stderr bytes.Buffer
			before := bytesRead()
			rc := runWith(tc.args, &stdout, &stderr, sys)
			after := bytesRead()
			if rc != 0 || strings.Count(stdout.String(), "big-") < n {
				t.Fatalf("rc %d\n%s\n%s", rc, stdout.String(), stderr.String())
			}
			checkReads(t, reads.counts(), n, tc.min, tc.max)
			if tc.max > limit {
				return
			}
			if got := after - before; before >= 0 && after >= 0 && got > n*limit {
				t.Errorf("the process read %d bytes for %d UKIs of 200 MiB, want at most %d", got, n, n*limit)
			}
			if !strings.Contains(stdout.String(), "unchecked") {
				t.Errorf("-list should say the signatures are unchecked:\n%s", stdout.String())
			}
		})
	}
}

// The menu's first frame reads at most 128 KiB per 200 MiB UKI, counted
// by the wrapping io.ReaderAt while the background verifier is held (it
// then answers without reading: TestListReadsHeadersOnly shows that the
// counter sees what verifying reads).
func TestMenuFirstFrameReadsHeadersOnly(t *testing.T) {
	const n, limit = 2, 128 << 10
	esp := bigUKIs(t, n, 200<<20)
	f := &fakeSystem{platform: noPlatform(t)}
	reads := newReadCounter()
	sys := f.sys()
	sys.wrapUKI = reads.wrap
	release := make(chan struct{})
	sys.check = func(p *pipeline, e *bls.Entry) entryCheck {
		<-release
		return entryCheck{status: "unverified"}
	}
	w, out, done, powered := startMenuOnPipe(t, sys, "-timeout", "menu-force", "-root", esp)
	first := out.waitFor(t, "the first frame", func(s string) bool { return strings.Contains(s, "r rescan") })
	checkReads(t, reads.counts(), n, 1, limit)
	if strings.Count(first, "big-") != n || strings.Count(first, "[checking]") != n {
		t.Errorf("the first frame should list the %d UKIs, checking:\n%s", n, first)
	}
	close(release)
	w.Write([]byte("o"))
	if rc := <-done; rc != 0 {
		t.Errorf("rc %d", rc)
	}
	<-powered
}

// startMenuOnPipe runs the menu (runWith with args) in the background,
// its keyboard a pipe: it returns the pipe's write end, the output, the
// exit code to come and the reboot(2) commands the menu gives.
func startMenuOnPipe(t *testing.T, sys system, args ...string) (keys *os.File, out *notifyBuffer, done, powered chan int) {
	t.Helper()
	powered = make(chan int, 1)
	sys.power = func(cmd int) error { powered <- cmd; return nil }
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	sys.stdin = r
	out = &notifyBuffer{written: make(chan struct{}, 1)}
	done = make(chan int, 1)
	go func() { done <- runWith(args, out, io.Discard, sys) }()
	return w, out, done, powered
}

// notifyBuffer is a bytes.Buffer safe for one writer and one reader that
// signals every write.
type notifyBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func (n *notifyBuffer) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.b.Write(p)
	select {
	case n.written <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (n *notifyBuffer) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.String()
}

// waitFor waits until the output satisfies ok, or fails after a minute.
func (n *notifyBuffer) waitFor(t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if s := n.String(); ok(s) {
			return s
		}
		select {
		case <-n.written:
		case <-deadline:
			t.Fatalf("timed out waiting for %s:\n%s", what, n.String())
		}
	}
}

// The whole menu is shown before any verdict is computed; verdicts appear
// as they arrive (a verifier that blocks until released).
func TestMenuShowsEntriesBeforeVerdicts(t *testing.T) {
	esp, db := verifyTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	release := make(chan struct{})
	sys := f.sys()
	sys.check = func(p *pipeline, e *bls.Entry) entryCheck {
		<-release
		return p.check(e)
	}
	w, out, done, powered := startMenuOnPipe(t, sys, "-timeout", "menu-force", "-db", db, "-root", esp)
	menuShown := func(s string) bool {
		return strings.Contains(s, "os (2)") && strings.Contains(s, "os (1)") && strings.Contains(s, "Plain") && strings.Contains(s, "r rescan")
	}
	before := out.waitFor(t, "the whole menu", menuShown)
	if !strings.Contains(before, "os (2)  [checking]") || strings.Contains(before, "os (2)  [untrusted]") || !strings.Contains(before, "Plain  [untrusted]") {
		t.Errorf("before the verdicts:\n%s", before)
	}
	close(release)
	out.waitFor(t, "os-2.efi's verdict", func(s string) bool {
		frames := strings.Split(s, "ukiboot: boot menu")
		last := frames[len(frames)-1]
		return strings.Contains(last, "r rescan") && regexpCount(last, `os \(2\)\s+\[untrusted\]`) > 0 && !strings.Contains(last, "[checking]")
	})
	w.Write([]byte("o"))
	if rc := <-done; rc != 0 {
		t.Errorf("rc %d", rc)
	}
	<-powered
}

func regexpCount(s, re string) int { return len(regexp.MustCompile(re).FindAllStringIndex(s, -1)) }

// BenchmarkList compares -list over 100 UKIs of 200 MiB with 100 UKIs of
// 1 MiB (sparse files); the big/small metric is the ratio of the times
// (issue 10: at most 1.2). Run it with make bench.
func BenchmarkList(b *testing.B) {
	big, small := bigUKIs(b, 100, 200<<20), bigUKIs(b, 100, 1<<20)
	f := &fakeSystem{platform: platform{lockdownPath: "/nonexistent", efivarsDir: "/nonexistent", mokVarsDir: "/nonexistent", trustDir: "/nonexistent"}}
	list := func(esp string) time.Duration {
		start := time.Now()
		if rc := runWith([]string{"-list", "-root", esp}, io.Discard, io.Discard, f.sys()); rc != 0 {
			b.Fatalf("-list %s: rc %d", esp, rc)
		}
		return time.Since(start)
	}
	var tBig, tSmall time.Duration
	b.ResetTimer()
	for range b.N {
		tBig += list(big)
		tSmall += list(small)
	}
	b.ReportMetric(float64(tBig)/float64(tSmall), "big/small")
	b.ReportMetric(float64(tBig)/1e6/float64(b.N), "ms/list-200MiB")
	b.ReportMetric(float64(tSmall)/1e6/float64(b.N), "ms/list-1MiB")
}

// TestVerifyEachUKIOnce: a UKI with two profiles is listed as two entries
// but verified, and so read whole, once by -list -verify-all.
func TestVerifyEachUKIOnce(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", true)
	key := ukitest.NewLeaf(t, "signer", true, ca)
	esp, db := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(db, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	img := signedUKI(t, key, ukitest.S(".osrel", "ID=os\nVERSION_ID=1\n"), ukitest.B(".linux", bytes.Repeat([]byte("K"), 256<<10)),
		ukitest.S(".profile", "ID=default"), ukitest.S(".profile", "ID=rescue"))
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os.efi"), img, 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	reads := newReadCounter()
	sys := f.sys()
	sys.wrapUKI = reads.wrap
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-verify-all", "-db", db, "-root", esp}, &stdout, &stderr, sys); rc != 0 || strings.Count(stdout.String(), "os.efi") < 2 {
		t.Fatalf("rc %d\n%s\n%s", rc, stdout.String(), stderr.String())
	}
	var total int64
	for _, n := range reads.counts() {
		total += n
	}
	if total < int64(len(img)) || total >= 2*int64(len(img)) {
		t.Errorf("read %d bytes of a %d-byte UKI with two profiles, want it read whole once", total, len(img))
	}
}
