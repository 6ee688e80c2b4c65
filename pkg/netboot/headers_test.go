package netboot_test

import (
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/nettest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// hugeUKI is a UKI of about size bytes laid out as ukify lays one out: a
// stub's code first (so that the small sections are beyond the first 64
// KiB block), the small sections, then a .linux of zeros that fills the
// rest, then a certificate table.
func hugeUKI(size int64) *ukitest.Sparse {
	return ukitest.BigUKI(size,
		ukitest.B(".text", ukitest.Noise(110<<10, 5)),
		ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
		ukitest.S(".osrel", "ID=fleet\nNAME=Fleet\nVERSION_ID=7\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet"),
		ukitest.S(".uname", "6.12.0-fleet"),
		ukitest.B(".initrd", ukitest.Noise(4000, 6)),
		ukitest.S(".linux", "K"),
	)
}

// TestListHugeUKI: listing a 200 MiB UKI (Headers, then what pkg/bls
// reads of a type #2 entry: the headers, .osrel, .cmdline and .uname of
// each profile) takes at most 4 requests and under 1 MiB, counted on the
// server.
func TestListHugeUKI(t *testing.T) {
	const size = 200 << 20
	v := hugeUKI(size)
	srv := nettest.Serve(t, v, v.Size)
	requests, sent := &srv.Requests, &srv.Sent
	u, err := netboot.ParseURL(srv.URL + "/fleet.efi#min-version=6.12")
	if err != nil {
		t.Fatal(err)
	}
	r, n, err := netboot.NewSource(u, netboot.Options{}).Headers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != v.Size {
		t.Fatalf("size %d, want %d", n, v.Size)
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
	t.Logf("%d requests, %d bytes sent to list a %d-byte UKI", requests.Load(), sent.Load(), v.Size)
	if requests.Load() > 4 {
		t.Errorf("%d requests, want at most 4", requests.Load())
	}
	if sent.Load() >= 1<<20 {
		t.Errorf("%d bytes sent, want under 1 MiB", sent.Load())
	}
}
