package netboot_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/nettest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/httpra"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// fleet is a signed UKI (its kernel larger than a fanout chunk) and the
// trust store that trusts it.
type fleet struct {
	img   []byte
	store *authenticode.Store
	key   *ukitest.Key
}

func newFleet(t *testing.T) fleet {
	return newFleetWith(t, nil, ukitest.B(".linux", ukitest.Noise(1<<20+123, 1)))
}

// newCopied is a UKI with two kernels (a profile has its own), which the
// whole-file copy reads, not the one pass, signed by the signer of
// signer (a new one when nil).
func newCopied(t *testing.T, signer *fleet) fleet {
	return newFleetWith(t, signer, ukitest.B(".linux", ukitest.Noise(1<<20+123, 1)), ukitest.S(".profile", "ID=other\n"), ukitest.B(".linux", ukitest.Noise(9000, 7)))
}

// flipAt is img with a bit of the byte at off flipped.
func flipAt(img []byte, off int) []byte {
	b := bytes.Clone(img)
	b[off] ^= 0x40
	return b
}

// newFleetWith is newFleet with another .linux and extra sections after
// it, signed by the signer of signer (a new one when nil).
func newFleetWith(t *testing.T, signer *fleet, linux ukitest.Section, extra ...ukitest.Section) fleet {
	if signer == nil {
		ca := ukitest.NewCA(t, "db CA", false)
		signer = &fleet{key: ukitest.NewLeaf(t, "fleet signer", false, ca), store: authenticode.NewStore()}
		signer.store.DB.Certs = append(signer.store.DB.Certs, ca.Cert)
	}
	key, store := signer.key, signer.store
	secs := []ukitest.Section{
		ukitest.S(".osrel", "ID=fleet\nNAME=Fleet\nVERSION_ID=7\n"),
		ukitest.S(".cmdline", "console=ttyS0 root=/dev/vda quiet"),
		ukitest.S(".uname", "6.12.0-fleet"),
		ukitest.B(".initrd", ukitest.Noise(200_000+77, 2)),
		linux,
	}
	secs = append(secs, extra...)
	return fleet{img: ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...), store: store, key: key}
}

func (f fleet) enforce() stub.Policy {
	return stub.Policy{Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: f.store}}
}

// server serves a UKI, counting requests and body bytes. Range requests
// get data (unless noRange); a GET without Range gets whole (data when
// nil) from get (the default: with its Content-Length).
type server struct {
	data, whole []byte
	noRange     bool
	get         http.HandlerFunc // replaces the answer to a GET without Range
	ranges      atomic.Int64
	gets        atomic.Int64
	sent        atomic.Int64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w = nettest.CountingWriter{ResponseWriter: w, N: &s.sent}
	if r.Header.Get("Range") != "" && !s.noRange {
		s.ranges.Add(1)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.data))
		return
	}
	s.gets.Add(1)
	if s.get != nil {
		s.get(w, r)
		return
	}
	body := s.whole
	if body == nil {
		body = s.data
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// start serves s at http://user:secret@127.0.0.1:port/fleet/Fleet.efi,
// with fragment appended.
func (s *server) start(t *testing.T, fragment string) netboot.URL {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	u, err := netboot.ParseURL(strings.Replace(srv.URL, "http://", "http://user:secret@", 1) + "/fleet/Fleet.efi" + fragment)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// netTarget is what the command makes of a network entry.
func netTarget(src *netboot.Source) stub.Target {
	return stub.Target{Entry: stub.PlanEntry{ID: "fleet.efi", Title: "Fleet", Path: src.URL().String()}, Files: src.Files(), UKI: src.Name()}
}

// diskPlan builds the plan of img from a file on an ESP.
func diskPlan(t *testing.T, img []byte, pol stub.Policy) *stub.Plan {
	t.Helper()
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/fleet.efi", img)
	c, err := bls.Load([]string{esp}, bls.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, e := range c.Entries {
		if e.ID == "fleet.efi" {
			tg, err := stub.TargetOf(e)
			if err != nil {
				t.Fatal(err)
			}
			p, err := stub.Build(tg, pol)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			return p
		}
	}
	t.Fatal("no entry fleet.efi")
	return nil
}

// blobBytes reads a plan's memfd.
func blobBytes(t *testing.T, b *stub.Blob) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	data := make([]byte, b.Size)
	if _, err := b.File.ReadAt(data, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return data
}

// samePlan compares what the kernel is handed and what is measured
// (event descriptions aside).
func samePlan(t *testing.T, got, want *stub.Plan) {
	t.Helper()
	if got.Cmdline != want.Cmdline {
		t.Errorf("cmdline %q, want %q", got.Cmdline, want.Cmdline)
	}
	for _, b := range []struct {
		name      string
		got, want *stub.Blob
	}{{"kernel", got.Kernel, want.Kernel}, {"initrd", got.Initrd, want.Initrd}} {
		if b.got.SHA256 != b.want.SHA256 || !bytes.Equal(blobBytes(t, b.got), blobBytes(t, b.want)) {
			t.Errorf("%s differs: SHA-256 %x, want %x", b.name, b.got.SHA256, b.want.SHA256)
		}
	}
	if len(got.Events) != len(want.Events) {
		t.Fatalf("%d events, want %d", len(got.Events), len(want.Events))
	}
	for i, e := range got.Events {
		w := want.Events[i]
		e.Description, w.Description = "", ""
		if !reflect.DeepEqual(e, w) {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if got.Verdict == nil || got.Verdict.Status != authenticode.Trusted {
		t.Errorf("verdict %v, want trusted", got.Verdict)
	}
}

// TestBootSameAsDisk: a signed UKI served over HTTP, with and without
// Range support, gives the plan the same file on a disk gives, under
// enforce; with Range support it is downloaded once (one GET) after the
// Range requests of its headers, by the one pass or (for a layout the
// one pass does not take) by the whole-file copy.
func TestBootSameAsDisk(t *testing.T) {
	onePass := newFleet(t)
	copied := newCopied(t, nil)
	for _, c := range []struct {
		name    string
		f       fleet
		noRange bool
		gets    int64 // whole-file GETs
	}{
		{name: "one pass", f: onePass, gets: 1},
		{name: "one pass, no Range, through a memfd", f: onePass, noRange: true, gets: 2}, // the size, then the download
		{name: "copy", f: copied, gets: 1},
		{name: "copy, no Range", f: copied, noRange: true, gets: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			want := diskPlan(t, f.img, f.enforce())
			s := &server{data: f.img, noRange: c.noRange}
			src := netboot.NewSource(s.start(t, ""), netboot.Options{})
			got, err := stub.Build(netTarget(src), f.enforce())
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			samePlan(t, got, want)
			t.Logf("%d Range requests, %d whole-file GETs, %d body bytes sent for a %d-byte UKI", s.ranges.Load(), s.gets.Load(), s.sent.Load(), len(f.img))
			if s.gets.Load() != c.gets {
				t.Errorf("%d whole-file GETs, want %d", s.gets.Load(), c.gets)
			}
			if c.noRange {
				return
			}
			if r := s.ranges.Load(); r < 1 || r > 4 {
				t.Errorf("%d Range requests, want 1 to 4 (the headers and the signature table)", r)
			}
			if max := int64(len(f.img)) + 4*64<<10; s.sent.Load() > max {
				t.Errorf("%d bytes sent, want at most the UKI and 4 blocks (%d)", s.sent.Load(), max)
			}
		})
	}
}

// TestBootRefused: each way a server or its UKI can be wrong is refused
// with an error that names the URL (without its password) and says what
// went wrong, under enforce (and, where the verdict does not decide, with
// verification off too).
func TestBootRefused(t *testing.T) {
	f := newFleet(t)
	peHeader := int(f.img[0x3c]) | int(f.img[0x3d])<<8
	flip := func(off int) []byte { return flipAt(f.img, off) }
	copied := newCopied(t, &f)
	copiedHeader := int(copied.img[0x3c]) | int(copied.img[0x3d])<<8
	short := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.img)))
		w.Write(f.img[:len(f.img)/2])
	}
	noLength := func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // chunked: no Content-Length
		w.Write(f.img)
	}
	loop := func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, r.URL.Path, http.StatusFound) }
	cases := []struct {
		name    string
		s       *server
		off     bool          // also with verification off
		max     int64         // -max-size
		timeout time.Duration // per read
		err     string
		is      any // an error type errors.As must find
	}{
		{name: "tampered kernel", s: &server{data: flip(len(f.img) - 300_000)}, err: "is not trusted", is: new(*stub.UntrustedError)},
		{name: "headers differ between Range and GET", s: &server{data: f.img, whole: flip(peHeader + 8)}, off: true, err: "changed while it was read"},
		{name: "headers differ between Range and GET, copy", s: &server{data: copied.img, whole: flipAt(copied.img, copiedHeader+8)}, off: true, err: "changed while it was read"},
		{name: "kernel differs between Range and GET", s: &server{data: f.img, whole: flip(len(f.img) - 300_000)}, err: "is not trusted", is: new(*stub.UntrustedError)},
		{name: "GET announces more bytes", s: &server{data: f.img, whole: append(bytes.Clone(f.img), 0)}, off: true, err: "announced " + strconv.Itoa(len(f.img)+1) + " bytes for the whole file"},
		{name: "GET sends fewer bytes", s: &server{data: f.img, get: short}, off: true, err: fmt.Sprintf("sent %d of the %d bytes", len(f.img)/2, len(f.img))},
		{name: "GET without Content-Length", s: &server{data: f.img, get: noLength}, off: true, err: "no Content-Length"},
		{name: "no Range and no Content-Length", s: &server{data: f.img, noRange: true, get: noLength}, off: true, err: "neither Range requests nor Content-Length"},
		{name: "no Range, fewer bytes", s: &server{data: f.img, noRange: true, get: short}, off: true, err: "bytes"},
		{name: "too large", s: &server{data: f.img}, max: 1 << 20, off: true, err: "-max-size", is: new(*stub.TooLargeError)},
		{name: "too large, no Range", s: &server{data: f.img, noRange: true}, max: 1 << 20, off: true, err: "-max-size", is: new(*stub.TooLargeError)},
		{name: "not found", s: &server{data: f.img, noRange: true, get: http.NotFound}, off: true, err: `"404 Not Found"`},
		{name: "redirect loop", s: &server{noRange: true, get: loop}, off: true, err: "more than 10 redirects"},
		{name: "not a UKI", s: &server{data: ukitest.Noise(300<<10, 9)}, off: true, err: "fleet/Fleet.efi"},
	}
	for _, c := range cases {
		modes := []stub.VerifyMode{stub.VerifyEnforce}
		if c.off {
			modes = append(modes, stub.VerifyOff)
		}
		for _, mode := range modes {
			t.Run(mode.String()+"/"+c.name, func(t *testing.T) {
				s := &server{data: c.s.data, whole: c.s.whole, noRange: c.s.noRange, get: c.s.get} // fresh counters
				src := netboot.NewSource(s.start(t, ""), netboot.Options{MaxSize: c.max, ReadTimeout: c.timeout})
				pol := f.enforce()
				pol.Verify.Mode = mode
				p, err := stub.Build(netTarget(src), pol)
				if err == nil {
					p.Close()
					t.Fatalf("booted; want an error with %q", c.err)
				}
				msg := err.Error()
				t.Log(msg)
				if !strings.Contains(msg, c.err) || !strings.Contains(msg, "/fleet/Fleet.efi") || strings.Contains(msg, "secret") {
					t.Errorf("error %q: want %q and the URL without its password", msg, c.err)
				}
				if c.is != nil && !errors.As(err, c.is) {
					t.Errorf("error %v is not a %T", err, c.is)
				}
			})
		}
	}
}

// TestBootStalled: a body that stops coming fails after the read timeout.
func TestBootStalled(t *testing.T) {
	f := newFleet(t)
	release := make(chan struct{})
	s := &server{data: f.img, get: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(f.img)))
		w.Write(f.img[:256<<10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}
	u := s.start(t, "")
	t.Cleanup(func() { close(release) }) // before the server closes
	src := netboot.NewSource(u, netboot.Options{ReadTimeout: 250 * time.Millisecond})
	p, err := stub.Build(netTarget(src), f.enforce())
	if err == nil {
		p.Close()
		t.Fatal("booted a stalled download")
	}
	if !strings.Contains(err.Error(), "stalled") {
		t.Errorf("error %q, want a stall", err)
	}
}

// TestMinVersionFromURL: the URL's #min-version, as the command hands it
// to the policy, accepts a new enough UKI and refuses an older one or
// one without a version.
func TestMinVersionFromURL(t *testing.T) {
	withUname := newFleet(t)
	noVersion := withUname // the same signer and trust store
	noVersion.img = ukitest.SignedUKI(t, authenticode.ImageDigest, withUname.key, ukitest.S(".osrel", "ID=fleet\n"), ukitest.S(".linux", "K"))
	for _, c := range []struct {
		name, fragment string
		f              fleet
		err            string
	}{
		{name: "no minimum", f: withUname},
		{name: "equal", fragment: "#min-version=6.12.0-fleet", f: withUname},
		{name: "newer", fragment: "#min-version=6.12", f: withUname},
		{name: "older", fragment: "#min-version=6.13", f: withUname, err: "is version 6.12.0-fleet, older than the minimum 6.13: refused as a rollback"},
		{name: "no version", fragment: "#min-version=1", f: noVersion, err: "no .uname and no version in its .osrel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &server{data: c.f.img}
			u := s.start(t, c.fragment)
			pol := c.f.enforce()
			pol.MinVersion = u.MinVersion
			p, err := stub.Build(netTarget(netboot.NewSource(u, netboot.Options{})), pol)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil {
				p.Close()
				t.Fatalf("booted; want %q", c.err)
			}
			if !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "http://127.0.0.1:") {
				t.Errorf("error %q, want %q and the URL", err, c.err)
			}
		})
	}
}

// TestFilesOnlyTheUKI: a network UKI has no partition: every other name
// does not exist, and the UKI is a regular file of the served size.
func TestFilesOnlyTheUKI(t *testing.T) {
	f := newFleet(t)
	s := &server{data: f.img}
	u := s.start(t, "#min-version=1")
	src := netboot.NewSource(u, netboot.Options{})
	files := src.Files()
	for _, name := range []string{"/loader/addons", "/loader/credentials", "/Fleet.efi.extra.d", "/EFI/Linux/Fleet.efi", "/"} {
		if _, err := files.Open(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q): %v, want fs.ErrNotExist", name, err)
		}
	}
	if got, want := files.Display(src.Name()), "http://"+u.URL.Host+"/fleet/Fleet.efi"; got != want {
		t.Errorf("Display = %q, want %q", got, want)
	}
	fl, err := files.Open(src.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	st, err := fl.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() != int64(len(f.img)) {
		t.Fatalf("Stat: %v, %v; want a regular file of %d bytes", st, err, len(f.img))
	}
	if s.gets.Load() != 0 {
		t.Errorf("%d whole-file GETs on Open, want none before the one pass", s.gets.Load())
	}
}

// TestHeadersNoRange: a server without Range support is not listed from
// its headers.
func TestHeadersNoRange(t *testing.T) {
	f := newFleet(t)
	s := &server{data: f.img, noRange: true}
	src := netboot.NewSource(s.start(t, ""), netboot.Options{})
	if _, _, err := src.Headers(t.Context()); err == nil || !errors.Is(err, httpra.ErrNoRange) {
		t.Fatalf("Headers: %v, want httpra.ErrNoRange", err)
	}
}
