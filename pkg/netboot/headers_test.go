package netboot_test

import (
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// virtualFile is size bytes: head at 0, tail at tailOff, zeros between;
// it takes the memory of head and tail only.
type virtualFile struct {
	head, tail    []byte
	tailOff, size int64
}

func (v *virtualFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= v.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), v.size-off))
	clear(p[:n])
	overlay(p[:n], off, v.head, 0)
	overlay(p[:n], off, v.tail, v.tailOff)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// overlay copies into dst, which holds the file from offset off, the
// part of src (at offset at) that it covers.
func overlay(dst []byte, off int64, src []byte, at int64) {
	lo, hi := max(off, at), min(off+int64(len(dst)), at+int64(len(src)))
	if lo < hi {
		copy(dst[lo-off:hi-off], src[lo-at:hi-at])
	}
}

// hugeUKI is a UKI of about size bytes laid out as ukify lays one out: a
// stub's code first (so that the small sections are beyond the first 64
// KiB block), the small sections, then a .linux of zeros that fills the
// rest, then a certificate table.
func hugeUKI(size int64) *virtualFile {
	secs := []ukitest.Section{
		ukitest.B(".text", noise(110<<10, 5)),
		ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
		ukitest.S(".osrel", "ID=fleet\nNAME=Fleet\nVERSION_ID=7\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet"),
		ukitest.S(".uname", "6.12.0-fleet"),
		ukitest.B(".initrd", noise(4000, 6)),
		ukitest.S(".linux", "K"),
	}
	img, l := ukitest.Image{Sections: secs}.Build()
	le := binary.LittleEndian
	hdr := l.SectionHeaders[len(secs)-1]
	ptr := int64(l.SectionData[len(secs)-1])
	linux := uint32(size - ptr - 8192)
	le.PutUint32(img[hdr+8:], linux)  // VirtualSize
	le.PutUint32(img[hdr+16:], linux) // SizeOfRawData
	va := le.Uint32(img[hdr+12:])
	le.PutUint32(img[l.OptOffset+56:], (va+linux+0xfff)&^0xfff) // SizeOfImage
	tail := ukitest.WinCert(2, noise(3000, 8))
	tailOff := (ptr + int64(linux) + 7) &^ 7
	le.PutUint32(img[l.CertDirOffset:], uint32(tailOff))
	le.PutUint32(img[l.CertDirOffset+4:], uint32(len(tail)))
	return &virtualFile{head: img[:ptr], tail: tail, tailOff: tailOff, size: tailOff + int64(len(tail))}
}

// TestListHugeUKI: listing a 200 MiB UKI (Headers, then what pkg/bls
// reads of a type #2 entry: the headers, .osrel, .cmdline and .uname of
// each profile) takes at most 4 requests and under 1 MiB, counted on the
// server.
func TestListHugeUKI(t *testing.T) {
	const size = 200 << 20
	v := hugeUKI(size)
	var requests, sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(countingWriter{w, &sent}, r, "", time.Time{}, io.NewSectionReader(v, 0, v.size))
	}))
	t.Cleanup(srv.Close)
	u, err := netboot.ParseURL(srv.URL + "/fleet.efi#min-version=6.12")
	if err != nil {
		t.Fatal(err)
	}
	r, n, err := netboot.NewSource(u, netboot.Options{}).Headers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != v.size {
		t.Fatalf("size %d, want %d", n, v.size)
	}
	k, err := uki.Read(r, n, u.String(), uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{uki.SectionOSRel: "ID=fleet", uki.SectionCmdline: "console=ttyS0 quiet", uki.SectionUname: "6.12.0-fleet"}
	for _, p := range k.Profiles() {
		for name, w := range want {
			if got, err := k.Text(p, name); err != nil || !strings.HasPrefix(got, w) {
				t.Errorf("%s = %q, %v; want %q", name, got, err, w)
			}
		}
	}
	if lx := k.Section(uki.SectionLinux); lx == nil || lx.Size() < size-1<<20 {
		t.Fatalf(".linux is %v, want a section of about 200 MiB", lx)
	}
	t.Logf("%d requests, %d bytes sent to list a %d-byte UKI", requests.Load(), sent.Load(), v.size)
	if requests.Load() > 4 {
		t.Errorf("%d requests, want at most 4", requests.Load())
	}
	if sent.Load() >= 1<<20 {
		t.Errorf("%d bytes sent, want under 1 MiB", sent.Load())
	}
}
