package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Scenario: "ukiboot -no-reboot" loads the plan of the default entry and
// exits 0 without rebooting; then "kexec -e" (testinit.kexec=1) starts
// it, as a running distribution would with systemctl kexec. The second
// kernel's /proc/cmdline and /.extra are the plan's, which is made here
// on the host from the same files.
func TestNoRebootThenKexec(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	esp := tree(t, map[string][]byte{
		"EFI/Linux/nr+3.efi":              s.uki(t, "nr", "1", stage2Cmdline+" scenario=no-reboot", "no-reboot"),
		"EFI/Linux/nr.efi.extra.d/a.cred": []byte("credential a"),
	})
	wantCmdline, wantExtra := hostPlan(t, esp)
	d := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: esp}})
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1 testinit.kexec=1", "-auto", "-v", "-no-reboot"),
		Disks:     []string{d.Path},
	})
	vm.Expect(`ukiboot: loaded nr\.efi; -no-reboot`, BootTimeout)
	vm.Expect(`testinit: ukiboot exited: exit status 0`, StepTimeout)
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if r.Cmdline != wantCmdline {
		t.Errorf("second kernel's cmdline %q, the plan's %q", r.Cmdline, wantCmdline)
	}
	got := r.Extras()
	for p, w := range wantExtra {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s missing; /.extra has %v", p, r.Extra)
			continue
		}
		if g.Dir != w.Dir || g.Mode != w.Mode || !w.Dir && (g.SHA256 != w.SHA256 || g.Size != w.Size) {
			t.Errorf("%s: %+v, the plan's %+v", p, g, w)
		}
	}
	if len(got) != len(wantExtra) || len(wantExtra) < 4 {
		t.Errorf("/.extra has %v, the plan %v", r.Extra, wantExtra)
	}
	if w := wantExtra["/.extra/loader-boot-count-path"]; w.Size == 0 {
		t.Errorf("the plan has no boot-count path: %v", wantExtra)
	}
}

// hostPlan builds the plan of the default entry under esp as ukiboot
// -auto does (verification reported, the boot-counting rename planned)
// and returns its command line and the /.extra files and directories of
// its initrd.
func hostPlan(t *testing.T, esp string) (string, map[string]ExtraFile) {
	t.Helper()
	c, err := bls.Load([]string{esp}, bls.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Default < 0 {
		t.Fatal("no default entry")
	}
	e := c.Entries[c.Default]
	pol := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyReport, Store: authenticode.NewStore()}}
	tg, err := stub.TargetOf(e)
	if err != nil {
		t.Fatal(err)
	}
	p, err := stub.Build(tg, pol)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Initrd == nil {
		t.Fatal("the plan has no initrd")
	}
	b, err := io.ReadAll(io.NewSectionReader(p.Initrd.File, 0, p.Initrd.Size))
	if err != nil {
		t.Fatal(err)
	}
	return p.Cmdline, newcExtra(t, b)
}

// newcExtra returns the /.extra entries of a sequence of newc archives.
func newcExtra(t *testing.T, b []byte) map[string]ExtraFile {
	t.Helper()
	out := map[string]ExtraFile{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; off+110 <= len(b); {
		if string(b[off:off+6]) != "070701" {
			off++ // padding between archives
			continue
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("cpio header at %d: %v", off, err)
			}
			return int(v)
		}
		mode, size, nameSize := field(1), field(6), field(11)
		name := strings.TrimSuffix(string(b[off+110:off+110+nameSize]), "\x00")
		data := align(off + 110 + nameSize)
		if name != "TRAILER!!!" && (name == ".extra" || strings.HasPrefix(name, ".extra/")) {
			f := ExtraFile{Path: "/" + name, Dir: mode&0o170000 == 0o040000, Mode: uint32(mode & 0o7777)}
			if !f.Dir {
				sum := sha256.Sum256(b[data : data+size])
				f.Size, f.SHA256 = int64(size), hex.EncodeToString(sum[:])
			}
			out[f.Path] = f
		}
		off = align(data + size)
	}
	return out
}
