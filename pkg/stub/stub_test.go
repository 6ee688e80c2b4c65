package stub_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
	"golang.org/x/sys/unix"
)

func write(t *testing.T, root, name string, data []byte) { ukitest.WriteTree(t, root, name, data) }

// target finds the entry id under esp and describes it for stub.Build.
func target(t *testing.T, esp, id string) stub.Target {
	t.Helper()
	c, err := bls.Load([]string{esp}, bls.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, e := range c.Entries {
		if e.ID == id {
			tg, err := stub.TargetOf(e)
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}
	}
	t.Fatalf("no entry %s", id)
	return stub.Target{}
}

func readAll(t *testing.T, b *stub.Blob) []byte {
	t.Helper()
	data, err := io.ReadAll(io.NewSectionReader(b.File, 0, b.Size))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(data) != b.SHA256 {
		t.Error("blob hash does not match its bytes")
	}
	return data
}

// cpioEntry is what a newc record says; parsed here independently of
// pkg/cpio.
type cpioEntry struct {
	name string
	mode uint32
	ino  uint32
	data string
}

func parseNewc(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	for {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at %d", off)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(v)
		}
		size, namesize := int(field(6)), int(field(11))
		name := string(b[off+110 : off+110+namesize-1])
		dataOff := (off + 110 + namesize + 3) &^ 3
		e := cpioEntry{name: name, mode: field(1), ino: field(0), data: string(b[dataOff : dataOff+size])}
		off = (dataOff + size + 3) &^ 3
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		if field(2) != 0 || field(3) != 0 || field(4) != 1 || field(5) != 0 {
			t.Errorf("%s: uid/gid/nlink/mtime not 0/0/1/0", name)
		}
		out = append(out, e)
	}
}

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s + "\x00"))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// TestUKIPlan builds a UKI with every kind of companion file and checks the
// kernel, the initrd byte layout, the command line and the measurements.
func TestUKIPlan(t *testing.T) {
	esp := t.TempDir()
	linux := bytes.Repeat([]byte("KERNEL"), 1001)
	ukiSecs := []ukitest.Section{
		ukitest.S(".osrel", "ID=test\nPRETTY_NAME=\"Test OS\"\n"),
		ukitest.S(".cmdline", "console=ttyS0\tquiet\n"),
		ukitest.S(".uname", "6.1.0-test"),
		ukitest.S(".pcrsig", `{"sha256":[]}`),
		ukitest.S(".pcrpkey", "-----BEGIN PUBLIC KEY-----\n"),
		ukitest.B(".linux", linux),
		ukitest.S(".initrd", "UKI-INITRD"),
		ukitest.S(".ucode", "UCODE"),
		ukitest.S(".sbat", "sbat,1\n"),
	}
	write(t, esp, "EFI/Linux/test+3-1.efi", ukitest.UKI(ukiSecs...))
	d := "EFI/Linux/test.efi.extra.d/"
	write(t, esp, d+"b.cred", []byte("cred-b"))
	write(t, esp, d+"a.cred", []byte("cred-a"))
	write(t, esp, d+".hidden.cred", []byte("no"))
	write(t, esp, d+"tools.raw", []byte("sysext-image"))
	write(t, esp, d+"etc.confext.raw", []byte("confext-image"))
	write(t, esp, d+"z.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "local=1"), ukitest.S(".ucode", "LOCAL-UCODE"), ukitest.S(".uname", "6.1.0-test")))
	write(t, esp, d+"wrong.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "wrong=1"), ukitest.S(".uname", "5.10")))
	write(t, esp, d+"bad.addon.efi", ukitest.UKI(ukitest.S(".linux", "K")))
	write(t, esp, "loader/addons/g.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "global=1"), ukitest.S(".initrd", "ADDON-INITRD"), ukitest.S(".ucode", "GLOBAL-UCODE")))
	write(t, esp, "loader/credentials/site.cred", []byte("global-cred"))
	write(t, esp, "loader/extensions/base.raw", []byte("global-sysext"))
	write(t, esp, "loader/extensions/base.confext.raw", []byte("global-confext"))

	e := target(t, esp, "test.efi")
	plan, err := stub.Build(e, stub.Policy{Append: "extra=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()

	if got := readAll(t, plan.Kernel); !bytes.Equal(got, linux) {
		t.Errorf("kernel: %d bytes, want %d", len(got), len(linux))
	}
	if want := "console=ttyS0 quiet global=1 local=1 extra=1"; plan.Cmdline != want {
		t.Errorf("cmdline %q, want %q", plan.Cmdline, want)
	}
	notes := strings.Join(plan.Notes, "\n")
	if !strings.Contains(notes, "wrong.addon.efi skipped: built for kernel 5.10") || !strings.Contains(notes, "addons must not carry a kernel") {
		t.Errorf("notes:\n%s", notes)
	}

	// The initrd, piece by piece.
	initrd := readAll(t, plan.Initrd)
	wantPieces := []string{
		"addon /EFI/Linux/test.efi.extra.d/z.addon.efi .ucode",
		"addon /loader/addons/g.addon.efi .ucode",
		".ucode", ".initrd",
		"Credentials initrd (/.extra/credentials)",
		"Global credentials initrd (/.extra/global_credentials)",
		"System extension initrd (/.extra/sysext)",
		"Global system extension initrd (/.extra/global_sysext)",
		"Configuration extension initrd (/.extra/confext)",
		"Global configuration extension initrd (/.extra/global_confext)",
		"/.extra/tpm2-pcr-signature.json (.pcrsig)",
		"/.extra/tpm2-pcr-public-key.pem (.pcrpkey)",
		"/.extra/os-release (.osrel)",
		"addon /loader/addons/g.addon.efi .initrd",
		// test+3-1.efi has a counter: the rename is planned.
		"/.extra/loader-boot-count-path (boot counting)",
	}
	if len(plan.Pieces) != len(wantPieces) {
		var got []string
		for _, p := range plan.Pieces {
			got = append(got, p.Description)
		}
		t.Fatalf("pieces:\n %s", strings.Join(got, "\n "))
	}
	var next int64
	piece := map[string][]byte{}
	for i, p := range plan.Pieces {
		if p.Description != wantPieces[i] {
			t.Errorf("piece %d is %q, want %q", i, p.Description, wantPieces[i])
		}
		if p.Offset != next || p.Offset%4 != 0 {
			t.Errorf("piece %d at %d, want %d (4-byte aligned)", i, p.Offset, next)
		}
		data := initrd[p.Offset : p.Offset+p.Size]
		if sha256.Sum256(data) != p.SHA256 {
			t.Errorf("piece %d hash", i)
		}
		piece[p.Description] = data
		next = (p.Offset + p.Size + 3) &^ 3
	}
	if int64(len(initrd)) != next {
		t.Errorf("initrd is %d bytes, pieces end at %d", len(initrd), next)
	}
	if bc := string(piece[wantPieces[14]]); !strings.Contains(bc, "\\EFI\\Linux\\test+2-2.efi\n") {
		t.Errorf("boot-count path piece %q, want \\EFI\\Linux\\test+2-2.efi", bc)
	}
	for desc, want := range map[string]string{
		wantPieces[0]: "LOCAL-UCODE", wantPieces[1]: "GLOBAL-UCODE", ".ucode": "UCODE", ".initrd": "UKI-INITRD",
		wantPieces[13]: "ADDON-INITRD",
	} {
		if string(piece[desc]) != want {
			t.Errorf("%s = %q, want %q", desc, piece[desc], want)
		}
	}
	// Generated archives: layout, modes, contents.
	type file struct {
		name string
		mode uint32
		data string
	}
	archives := map[string][]file{
		wantPieces[4]:  {{".extra", 0o40555, ""}, {".extra/credentials", 0o40500, ""}, {".extra/credentials/a.cred", 0o100400, "cred-a"}, {".extra/credentials/b.cred", 0o100400, "cred-b"}},
		wantPieces[5]:  {{".extra", 0o40555, ""}, {".extra/global_credentials", 0o40500, ""}, {".extra/global_credentials/site.cred", 0o100400, "global-cred"}},
		wantPieces[6]:  {{".extra", 0o40555, ""}, {".extra/sysext", 0o40555, ""}, {".extra/sysext/tools.raw", 0o100444, "sysext-image"}},
		wantPieces[7]:  {{".extra", 0o40555, ""}, {".extra/global_sysext", 0o40555, ""}, {".extra/global_sysext/base.raw", 0o100444, "global-sysext"}},
		wantPieces[8]:  {{".extra", 0o40555, ""}, {".extra/confext", 0o40555, ""}, {".extra/confext/etc.confext.raw", 0o100444, "confext-image"}},
		wantPieces[9]:  {{".extra", 0o40555, ""}, {".extra/global_confext", 0o40555, ""}, {".extra/global_confext/base.confext.raw", 0o100444, "global-confext"}},
		wantPieces[10]: {{".extra", 0o40555, ""}, {".extra/tpm2-pcr-signature.json", 0o100444, `{"sha256":[]}`}},
		wantPieces[12]: {{".extra", 0o40555, ""}, {".extra/os-release", 0o100444, "ID=test\nPRETTY_NAME=\"Test OS\"\n"}},
	}
	for desc, want := range archives {
		got := parseNewc(t, piece[desc])
		if len(got) != len(want) {
			t.Errorf("%s: %d records, want %d: %+v", desc, len(got), len(want), got)
			continue
		}
		for i := range want {
			if got[i].name != want[i].name || got[i].mode != want[i].mode || got[i].data != want[i].data || got[i].ino != uint32(i+1) {
				t.Errorf("%s record %d: %+v, want %+v (ino %d)", desc, i, got[i], want[i], i+1)
			}
		}
	}

	// Measurements.
	type m struct {
		pcr  int
		desc string
		sum  [32]byte
	}
	var want []m
	for _, s := range []ukitest.Section{ukiSecs[5], ukiSecs[0], ukiSecs[1], ukiSecs[6], ukiSecs[7], ukiSecs[2], ukiSecs[8], ukiSecs[4]} {
		want = append(want, m{11, s.Name, sha256.Sum256(append([]byte(s.Name), 0))}, m{11, s.Name, sha256.Sum256(s.Data)})
	}
	want = append(want,
		m{12, "global=1 local=1", sha256.Sum256(utf16z("global=1 local=1"))},
		m{12, "extra=1", sha256.Sum256(utf16z("extra=1"))},
		m{12, "Credentials initrd", sha256.Sum256(piece[wantPieces[4]])},
		m{12, "Global credentials initrd", sha256.Sum256(piece[wantPieces[5]])},
		m{13, "System extension initrd", sha256.Sum256(piece[wantPieces[6]])},
		m{13, "Global system extension initrd", sha256.Sum256(piece[wantPieces[7]])},
		m{12, "Configuration extension initrd", sha256.Sum256(piece[wantPieces[8]])},
		m{12, "Global configuration extension initrd", sha256.Sum256(piece[wantPieces[9]])},
		// The microcode addons after the archives (last addon first),
		// although their bytes start the initrd; then the initrd addons.
		m{12, "z.addon.efi", sha256.Sum256([]byte("LOCAL-UCODE"))},
		m{12, "g.addon.efi", sha256.Sum256([]byte("GLOBAL-UCODE"))},
		m{12, "g.addon.efi", sha256.Sum256([]byte("ADDON-INITRD"))},
	)
	if len(plan.Events) != len(want) {
		for _, x := range plan.Events {
			t.Logf("PCR %d %s", x.PCR, x.Description)
		}
		t.Fatalf("%d measurements, want %d", len(plan.Events), len(want))
	}
	for i, w := range want {
		g := plan.Events[i]
		if g.PCR != w.pcr || g.Description != w.desc || sha(g) != w.sum {
			t.Errorf("measurement %d: PCR %d %q %x, want PCR %d %q %x", i, g.PCR, g.Description, sha(g), w.pcr, w.desc, w.sum[:4])
		}
	}

	// The copies are sealed: nothing can change them after the checks.
	if _, err := plan.Kernel.File.WriteAt([]byte("X"), 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("writing the sealed kernel: %v, want EPERM", err)
	}
}

// trusting returns an enforcing policy whose db lists the image digests of
// the given files.
func trusting(t *testing.T, files ...string) stub.Verification {
	t.Helper()
	s := authenticode.NewStore()
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := uki.Read(bytes.NewReader(b), int64(len(b)), p, uki.KindAuto)
		if err != nil {
			t.Fatal(err)
		}
		d, err := authenticode.Digests(f, bytes.NewReader(b), crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		s.DB.ImageHashes[hex.EncodeToString(d[crypto.SHA256])] = true
	}
	return stub.Verification{Mode: stub.VerifyEnforce, Store: s}
}

func TestEnforcementRefusesCommandLines(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/nocmd.efi", ukitest.UKI(ukitest.S(".osrel", "ID=b\n"), ukitest.S(".linux", "K")))
	write(t, esp, "loader/entries/viauki.conf", []byte("uki /EFI/Linux/a.efi\noptions init=/bin/sh\n"))
	enforce := trusting(t, filepath.Join(esp, "EFI/Linux/a.efi"), filepath.Join(esp, "EFI/Linux/nocmd.efi"))

	if _, err := stub.Build(target(t, esp, "a.efi"), stub.Policy{Append: "init=/bin/sh", Verify: enforce}); err == nil || !strings.Contains(err.Error(), "-append refused") {
		t.Errorf("-append under enforcement: %v", err)
	}
	p, err := stub.Build(target(t, esp, "nocmd.efi"), stub.Policy{Append: "console=ttyS0", Verify: enforce})
	if err != nil || p.Cmdline != "console=ttyS0" {
		t.Errorf("no .cmdline: %v %q", err, p.Cmdline)
	} else {
		p.Close()
	}
	p, err = stub.Build(target(t, esp, "viauki.conf"), stub.Policy{Verify: enforce})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cmdline != "ro" || !strings.Contains(strings.Join(p.Notes, " "), "ignored") {
		t.Errorf("enforced: cmdline %q notes %q", p.Cmdline, p.Notes)
	}
	p.Close()
	p, err = stub.Build(target(t, esp, "viauki.conf"), stub.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Cmdline != "init=/bin/sh" {
		t.Errorf("options should replace .cmdline: %q", p.Cmdline)
	}
	p.Close()
}

func TestType1Plan(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("KERNEL"))
	write(t, esp, "one.img", []byte("ONE"))
	write(t, esp, "two.img", []byte("TWO!"))
	write(t, esp, "loader/entries/t.conf", []byte("linux /vmlinuz\ninitrd /one.img\ninitrd two.img\noptions root=/dev/vda2\noptions quiet\n"))
	p, err := stub.Build(target(t, esp, "t.conf"), stub.Policy{Append: "single"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if string(readAll(t, p.Kernel)) != "KERNEL" {
		t.Error("kernel")
	}
	if got := string(readAll(t, p.Initrd)); got != "ONE\x00TWO!" {
		t.Errorf("initrd %q", got)
	}
	if p.Cmdline != `initrd=\one.img initrd=\two.img root=/dev/vda2 quiet single` {
		t.Errorf("cmdline %q", p.Cmdline)
	}
	if len(p.Events) != 1 || p.Events[0].PCR != 12 || sha(p.Events[0]) != sha256.Sum256(utf16z(p.Cmdline)) {
		t.Errorf("measurements %+v", p.Events)
	}
}

func TestPlanErrors(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/arm.efi", ukitest.Image{Machine: 0xaa64, Sections: []ukitest.Section{ukitest.S(".osrel", "ID=a\n"), ukitest.S(".linux", "K")}}.Bytes())
	// pkg/bls hides a UKI for another CPU; listed as if on aa64, the plan
	// still refuses it.
	c, err := bls.Load([]string{esp}, bls.Options{Arch: "aa64"})
	if err != nil || len(c.Entries) != 1 {
		t.Fatalf("load: %v", err)
	}
	defer c.Close()
	e, err := stub.TargetOf(c.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stub.Build(e, stub.Policy{}); err == nil || !strings.Contains(err.Error(), "built for arm64") {
		t.Errorf("arm64 UKI: %v", err)
	}
	// A UKI that changes after listing is re-validated from the private copy.
	os.WriteFile(filepath.Join(esp, "EFI/Linux/arm.efi"), []byte("MZ garbage"), 0o644)
	var pe *stub.PlanError
	if _, err := stub.Build(e, stub.Policy{}); !errors.As(err, &pe) || pe.Entry != "arm.efi" {
		t.Errorf("changed file: %v", err)
	}
}

// A profile other than 0 is measured into PCR 12 before the sections:
// first by the boot loader ("@1", the load options it passes), then by the
// stub (its number in UTF-16 with the NUL); the profile's sections are
// used.
func TestProfilePlan(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/multi.efi", ukitest.UKI(
		ukitest.S(".osrel", "ID=multi\n"), ukitest.S(".cmdline", "base"), ukitest.S(".linux", "KERNEL"),
		ukitest.S(".profile", "ID=default\n"),
		ukitest.S(".profile", "ID=rescue\nTITLE=Rescue\n"), ukitest.S(".cmdline", "rescue"),
	))
	for id, want := range map[string]struct {
		cmdline string
		first   int
		profile string
	}{"multi.efi": {"base", 11, "ID=default\n"}, "multi.efi@rescue": {"rescue", 12, "ID=rescue\nTITLE=Rescue\n"}} {
		p, err := stub.Build(target(t, esp, id), stub.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		m := p.Events[0]
		if p.Cmdline != want.cmdline || m.PCR != want.first {
			t.Errorf("%s: cmdline %q, first measurement PCR %d %q", id, p.Cmdline, m.PCR, m.Description)
		}
		if want.first == 12 {
			if sha(m) != sha256.Sum256(utf16z("@1")) || m.Description != "@1" {
				t.Errorf("%s: boot loader's measurement %+v, want @1", id, m)
			}
			if m := p.Events[1]; sha(m) != sha256.Sum256(utf16z("1")) || (m.Description != "1" || m.Type != measure.EvEventTag || m.Tag != measure.TagUKIProfile) {
				t.Errorf("%s: stub's profile measurement %+v", id, m)
			}
		}
		if ini := string(readAll(t, p.Initrd)); !strings.Contains(ini, ".extra/profile\x00") || !strings.Contains(ini, want.profile) {
			t.Errorf("%s: /.extra/profile missing", id)
		}
		p.Close()
	}
}

// sha is the event's SHA-256 digest.
func sha(e measure.Event) [32]byte { return [32]byte(e.Digests[measure.SHA256]) }
