package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// The boot scenarios: a GPT disk made by test code, a first stage that
// scans it with ukiboot -auto, and a second kernel (Debian's, with the
// report initrd) that prints what it was handed.

// secondStage is what every scenario boots: Debian's kernel and an initrd
// whose /init reports and powers off.
type secondStage struct {
	kernel []byte
}

func newSecondStage(t *testing.T, a *Assets) *secondStage {
	k, err := os.ReadFile(a.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	return &secondStage{kernel: k}
}

// uki returns a pure-Go UKI: os-release, command line, kernel, report
// initrd carrying a marker file.
func (s *secondStage) uki(t *testing.T, id, version, cmdline, marker string, more ...ukitest.Section) []byte {
	secs := []ukitest.Section{
		ukitest.S(".osrel", "ID="+id+"\nVERSION_ID="+version+"\nPRETTY_NAME=\"Test "+id+" "+version+"\"\n"),
		ukitest.S(".cmdline", cmdline),
		ukitest.S(".uname", "test"),
		ukitest.B(".linux", s.kernel),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-" + marker, Data: []byte(marker + "\n")})),
	}
	return ukitest.UKI(append(secs, more...)...)
}

// tree writes files (path -> contents) under a new directory.
func tree(t *testing.T, files map[string][]byte) string {
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// espDisk returns a new GPT disk image with one ESP holding files (path
// -> contents).
func espDisk(t *testing.T, files map[string][]byte) string {
	t.Helper()
	return disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: tree(t, files)}}).Path
}

// bootDisk boots the first stage with the disk and ukiboot -auto, and
// returns the VM after the second kernel reported.
func bootDisk(t *testing.T, a *Assets, disk string, args ...string) (*VM, *Report) {
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", append([]string{"-auto", "-v"}, args...)...),
		Disks:     []string{disk},
	})
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	t.Logf("boot and kexec: %.1fs", vm.Elapsed().Seconds())
	return vm, r
}

// stage2Cmdline starts the second kernel's command line (see Stage1Cmdline
// for no_timer_check).
const stage2Cmdline = "console=ttyS0 quiet panic=-1 no_timer_check"

// Scenario 1: the default UKI of a GPT disk boots; the second kernel's
// /proc/cmdline is the UKI's .cmdline.
func TestBootDefaultUKIFromDisk(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	d := espDisk(t, map[string][]byte{
		"EFI/Linux/test-1.efi": s.uki(t, "test", "1", stage2Cmdline+" scenario=older", "older"),
		"EFI/Linux/test-2.efi": s.uki(t, "test", "2", stage2Cmdline+"  scenario=default\n", "default"),
	})
	vm, r := bootDisk(t, a, d)
	if r.Cmdline != stage2Cmdline+"  scenario=default" { // inner blanks are kept, as systemd-stub keeps them
		t.Errorf("second kernel's cmdline %q, want the default UKI's .cmdline", r.Cmdline)
	}
	if r.Markers["marker-default"] != "default" {
		t.Errorf("markers %v", r.Markers)
	}
	out := vm.Output()
	for _, want := range []string{"booting test-2.efi", "loaded test-2.efi"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// Scenario 2: a type #1 entry on an ext4 XBOOTLDR with two initrds; the
// second kernel sees both (and its options).
func TestBootType1TwoInitrds(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	second, err := Newc([]File{{Name: "marker-initrd2", Data: []byte("second initrd\n")}})
	if err != nil {
		t.Fatal(err)
	}
	esp := tree(t, map[string][]byte{
		"loader/loader.conf": []byte("default two-initrds*\ntimeout 0\n"),
		// A UKI that would be the default without loader.conf.
		"EFI/Linux/zzz-9.efi": s.uki(t, "zzz", "9", stage2Cmdline+" scenario=wrong", "wrong"),
	})
	xbootldr := tree(t, map[string][]byte{
		"vmlinuz":                         s.kernel,
		"boot/first.img":                  ReportInitrd(t, File{Name: "marker-initrd1", Data: []byte("first initrd\n")}),
		"boot/second.img":                 second,
		"loader/entries/two-initrds.conf": []byte("title Two initrds\nlinux /vmlinuz\ninitrd /boot/first.img\ninitrd /boot/second.img\noptions " + stage2Cmdline + "\noptions scenario=type1\n"),
	})
	d := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{
		{Kind: disktest.KindESP, Dir: esp},
		{Kind: disktest.KindXBOOTLDR, Dir: xbootldr, FS: disktest.FSExt4},
	})
	_, r := bootDisk(t, a, d.Path)
	// systemd-boot's initrd_prepare: initrd=<path> for each initrd, then
	// the options.
	if want := `initrd=\boot\first.img initrd=\boot\second.img ` + stage2Cmdline + " scenario=type1"; r.Cmdline != want {
		t.Errorf("cmdline %q, want %q", r.Cmdline, want)
	}
	if r.Markers["marker-initrd1"] != "first initrd" || r.Markers["marker-initrd2"] != "second initrd" {
		t.Errorf("markers %v, want both initrds", r.Markers)
	}
}

// Scenario 3: credentials, a system extension and an addon next to the
// UKI, a global credential: the second kernel sees /.extra as
// systemd-stub lays it out and the addon's command line.
func TestBootCompanionFiles(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	files := map[string][]byte{
		"EFI/Linux/comp+3.efi":                       s.uki(t, "comp", "1", stage2Cmdline+" scenario=companions", "companions"),
		"EFI/Linux/comp.efi.extra.d/db.cred":         []byte("secret-db-password"),
		"EFI/Linux/comp.efi.extra.d/api.cred":        []byte("api-token"),
		"EFI/Linux/comp.efi.extra.d/tools.raw":       []byte("not really a squashfs, but bytes are bytes"),
		"EFI/Linux/comp.efi.extra.d/debug.addon.efi": ukitest.UKI(ukitest.S(".cmdline", "addon.debug=1"), ukitest.S(".uname", "test")),
		"loader/credentials/site.cred":               []byte("site-wide"),
	}
	d := espDisk(t, files)
	_, r := bootDisk(t, a, d)
	if r.Cmdline != stage2Cmdline+" scenario=companions addon.debug=1" {
		t.Errorf("cmdline %q, want the UKI's then the addon's", r.Cmdline)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	type want struct {
		mode uint32
		dir  bool
		data []byte
	}
	wants := map[string]want{
		"/.extra":                              {0o555, true, nil},
		"/.extra/credentials":                  {0o500, true, nil},
		"/.extra/credentials/api.cred":         {0o400, false, files["EFI/Linux/comp.efi.extra.d/api.cred"]},
		"/.extra/credentials/db.cred":          {0o400, false, files["EFI/Linux/comp.efi.extra.d/db.cred"]},
		"/.extra/global_credentials":           {0o500, true, nil},
		"/.extra/global_credentials/site.cred": {0o400, false, files["loader/credentials/site.cred"]},
		"/.extra/sysext":                       {0o555, true, nil},
		"/.extra/sysext/tools.raw":             {0o444, false, files["EFI/Linux/comp.efi.extra.d/tools.raw"]},
		"/.extra/os-release":                   {0o444, false, []byte("ID=comp\nVERSION_ID=1\nPRETTY_NAME=\"Test comp 1\"\n")},
		// comp+3.efi was renamed for boot counting before it booted.
		"/.extra/loader-boot-count-path": {0o444, false, []byte("\\EFI\\Linux\\comp+2-1.efi\n")},
	}
	got := r.Extras()
	for p, w := range wants {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s missing; /.extra has %v", p, r.Extra)
			continue
		}
		if g.Dir != w.dir || g.Mode != w.mode || (!w.dir && (g.SHA256 != sum(w.data) || g.Size != int64(len(w.data)))) {
			t.Errorf("%s: dir %v mode %o size %d sha %s; want dir %v mode %o size %d", p, g.Dir, g.Mode, g.Size, g.SHA256, w.dir, w.mode, len(w.data))
		}
	}
	if len(got) != len(wants) {
		t.Errorf("/.extra has %d entries, want %d: %v", len(got), len(wants), r.Extra)
	}
}

// Scenario 4: the default UKI is broken (a kernel that kexec_file_load
// refuses), and the one after it is not even a PE file, which systemd-boot
// does not list; ukiboot says why the default failed and boots the next
// listed one.
func TestBootFallsBackFromCorruptDefault(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	garbageKernel := &secondStage{kernel: []byte("MZ this is not a bzImage, the kernel will refuse it with ENOEXEC")}
	d := espDisk(t, map[string][]byte{
		"EFI/Linux/os-3.efi": garbageKernel.uki(t, "os", "3", stage2Cmdline+" scenario=corrupt", "corrupt"),
		"EFI/Linux/os-2.efi": []byte("MZ\x00\x00truncated UKI header"),
		"EFI/Linux/os-1.efi": s.uki(t, "os", "1", stage2Cmdline+" scenario=fallback", "fallback"),
	})
	vm, r := bootDisk(t, a, d)
	if r.Cmdline != stage2Cmdline+" scenario=fallback" {
		t.Errorf("cmdline %q, want the fallback's", r.Cmdline)
	}
	out := vm.Output()
	// os-2.efi is not a PE file: systemd-boot does not list it
	// (boot_entry_add_type2), so -auto never tries it.
	if strings.Contains(out, "booting os-2.efi") {
		t.Errorf("the truncated os-2.efi was tried; it must not be listed")
	}
	for _, want := range []string{
		"booting os-3.efi", "cannot load os-3.efi: kexec_file_load: ENOEXEC",
		"booting os-1.efi", "loaded os-1.efi",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}

// Scenario 5: a UKI built the way distributions built them before ukify:
// Debian's systemd-stub with objcopy-added sections, from a disk.
func TestBootObjcopyStubUKI(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	path := ukitest.ObjcopyUKI(t, t.TempDir(), []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		ukitest.S(".cmdline", stage2Cmdline+" scenario=objcopy"),
		ukitest.B(".linux", s.kernel),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-objcopy", Data: []byte("objcopy\n")})),
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := espDisk(t, map[string][]byte{"EFI/Linux/debian-6.1.efi": data})
	_, r := bootDisk(t, a, d)
	if r.Cmdline != stage2Cmdline+" scenario=objcopy" || r.Markers["marker-objcopy"] != "objcopy" {
		t.Errorf("cmdline %q markers %v", r.Cmdline, r.Markers)
	}
	got := r.Extras()["/.extra/os-release"]
	if got.Size == 0 {
		t.Errorf("/.extra/os-release missing: %v", r.Extra)
	}
}
