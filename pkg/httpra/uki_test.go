package httpra

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// sparse is a file of size bytes: head, zeros, then tail at tailOff.
type sparse struct {
	head, tail    []byte
	tailOff, size int64
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.size-off))
	for i := range n {
		o := off + int64(i)
		switch {
		case o < int64(len(s.head)):
			p[i] = s.head[o]
		case o >= s.tailOff:
			p[i] = s.tail[o-s.tailOff]
		default:
			p[i] = 0
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// bigUKI is a UKI of about size bytes whose last section, .linux, is zeros
// and which ends with a certificate table, as a signed UKI does.
func bigUKI(size int64) *sparse {
	// A stub's code first (systemd-stub's is about 100 KiB), so that the
	// small sections are beyond Open's first block, as in ukify's layout.
	secs := []ukitest.Section{
		ukitest.B(".text", testData(120<<10)),
		ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
		ukitest.S(".osrel", "ID=fleet\nNAME=Fleet\nVERSION_ID=1\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet"),
		ukitest.S(".uname", "6.12.0-fleet"),
		ukitest.S(".initrd", strings.Repeat("I", 3000)),
		ukitest.S(".linux", "K"),
	}
	img, l := ukitest.Image{Sections: secs}.Build()
	le := binary.LittleEndian
	sh := l.SectionHeaders[len(secs)-1]
	ptr := int64(le.Uint32(img[sh+20:]))
	linux := uint32(size - ptr - 4096)
	le.PutUint32(img[sh+8:], linux)  // VirtualSize
	le.PutUint32(img[sh+16:], linux) // SizeOfRawData
	va := le.Uint32(img[sh+12:])
	le.PutUint32(img[l.OptOffset+56:], (va+linux+0xfff)&^0xfff) // SizeOfImage
	tail := ukitest.WinCert(2, make([]byte, 2000))
	tailOff := (ptr + int64(linux) + 7) &^ 7
	le.PutUint32(img[l.CertDirOffset:], uint32(tailOff))
	le.PutUint32(img[l.CertDirOffset+4:], uint32(len(tail)))
	return &sparse{head: img, tail: tail, tailOff: tailOff, size: tailOff + int64(len(tail))}
}

// countingWriter counts the body bytes a handler writes, before writing
// them, so that the count is complete once the client has read them.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.ResponseWriter.Write(p)
}

// TestListBigUKI reads what listing reads of a 200 MiB UKI (pkg/bls's
// type #2 entries: the headers, then .osrel, .cmdline and .uname of each
// profile) and checks the budget of issue 15: at most 4 requests and under
// 1 MiB.
func TestListBigUKI(t *testing.T) {
	const size = 200 << 20
	s := bigUKI(size)
	var sent atomic.Int64
	var requests atomic.Int64
	u := serve(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(countingWriter{w, &sent}, r, "f", time.Time{}, io.NewSectionReader(s, 0, s.size))
	})
	f, err := Open(context.Background(), nil, u, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() < size-8192 || f.Size() > size {
		t.Fatalf("Size %d, want about %d", f.Size(), size)
	}
	k, err := uki.Read(f, f.Size(), u, uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{uki.SectionOSRel: "ID=fleet", uki.SectionCmdline: "console=ttyS0 quiet", uki.SectionUname: "6.12.0-fleet"}
	for _, p := range k.Profiles() {
		for name, w := range want {
			got, err := k.Text(p, name)
			if err != nil || !strings.HasPrefix(got, w) {
				t.Errorf("%s = %q, %v; want %q", name, got, err, w)
			}
		}
	}
	if lx := k.Section(uki.SectionLinux); lx == nil || lx.Size() < size-1<<20 {
		t.Errorf(".linux is %v, want a section of about 200 MiB", lx)
	}
	t.Logf("%d requests, %d bytes sent for a %d-byte UKI", f.Requests(), sent.Load(), f.Size())
	if f.Requests() > 4 || requests.Load() != int64(f.Requests()) {
		t.Errorf("%d requests (server saw %d), want at most 4", f.Requests(), requests.Load())
	}
	if sent.Load() >= 1<<20 || sent.Load() == 0 {
		t.Errorf("%d bytes sent, want under 1 MiB", sent.Load())
	}
}
