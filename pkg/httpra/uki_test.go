package httpra

import (
	"context"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/nettest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// bigUKI is a UKI of about size bytes whose last section, .linux, is zeros
// and which ends with a certificate table, as a signed UKI does.
func bigUKI(size int64) *ukitest.Sparse {
	// A stub's code first (systemd-stub's is about 100 KiB), so that the
	// small sections are beyond Open's first block, as in ukify's layout.
	return ukitest.BigUKI(size,
		ukitest.B(".text", testData(120<<10)),
		ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"),
		ukitest.S(".osrel", "ID=fleet\nNAME=Fleet\nVERSION_ID=1\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet"),
		ukitest.S(".uname", "6.12.0-fleet"),
		ukitest.S(".initrd", strings.Repeat("I", 3000)),
		ukitest.S(".linux", "K"),
	)
}

// TestListBigUKI reads what listing reads of a 200 MiB UKI (pkg/bls's
// type #2 entries: the headers, then .osrel, .cmdline and .uname of each
// profile) and checks the budget of issue 15: at most 4 requests and under
// 1 MiB.
func TestListBigUKI(t *testing.T) {
	const size = 200 << 20
	s := bigUKI(size)
	srv := nettest.Serve(t, s, s.Size)
	u := srv.URL + "/f"
	sent, requests := &srv.Sent, &srv.Requests
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
