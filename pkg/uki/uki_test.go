package uki_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

func read(t *testing.T, b []byte, want uki.Kind) *uki.File {
	t.Helper()
	f, err := uki.Read(bytes.NewReader(b), int64(len(b)), "test.efi", want)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return f
}

func sectionData(t *testing.T, s *uki.Section) []byte {
	t.Helper()
	if s == nil {
		t.Fatal("section missing")
	}
	b, err := io.ReadAll(s.Open())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadSimpleUKI(t *testing.T) {
	linux := bytes.Repeat([]byte("K"), 3000)
	img := ukitest.UKI(
		ukitest.S(".osrel", "ID=test\nPRETTY_NAME=\"Test OS\"\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet\x00"),
		ukitest.S(".uname", "6.1.0-test\n"),
		ukitest.B(".linux", linux),
		ukitest.S(".initrd", "INITRD"),
	)
	f := read(t, img, uki.KindAuto)
	if f.Kind != uki.KindUKI {
		t.Errorf("kind = %v, want uki", f.Kind)
	}
	if f.Header.Machine != uki.MachineAMD64 || f.Header.Machine.String() != "x86-64" {
		t.Errorf("machine = %v", f.Header.Machine)
	}
	if len(f.Sections) != 5 {
		t.Fatalf("%d sections, want 5", len(f.Sections))
	}
	// Raw data is padded to 0x200; the data must be cut to VirtualSize.
	if got := sectionData(t, f.Section(".linux")); !bytes.Equal(got, linux) {
		t.Errorf(".linux: %d bytes, want %d", len(got), len(linux))
	}
	if got := f.Section(".linux").SizeOfRawData; got != 3072 {
		t.Errorf(".linux SizeOfRawData = %d, want 3072 (padded)", got)
	}
	if got := string(sectionData(t, f.Section(".initrd"))); got != "INITRD" {
		t.Errorf(".initrd = %q", got)
	}
	p, err := f.Profile(0)
	if err != nil {
		t.Fatal(err)
	}
	if f.NumProfiles() != 1 || f.HasProfiles() {
		t.Errorf("NumProfiles = %d, HasProfiles = %v; want 1, false", f.NumProfiles(), f.HasProfiles())
	}
	cl, err := f.Cmdline(p)
	if err != nil || cl != "console=ttyS0 quiet" {
		t.Errorf("Cmdline = %q, %v", cl, err)
	}
	un, err := f.Uname(p)
	if err != nil || un != "6.1.0-test" {
		t.Errorf("Uname = %q, %v", un, err)
	}
	o, err := f.OSRelease(p)
	if err != nil || o.Get("PRETTY_NAME") != "Test OS" || o.Get("ID") != "test" {
		t.Errorf("OSRelease = %+v, %v", o, err)
	}
	if _, err := f.Profile(1); !errors.Is(err, uki.ErrNoProfile) {
		t.Errorf("Profile(1) error = %v, want ErrNoProfile", err)
	}
}

func TestVirtualSizeLargerThanRawIsZeroFilled(t *testing.T) {
	img := ukitest.UKI(
		ukitest.S(".linux", "KERNEL"),
		ukitest.Section{Name: ".initrd", Data: []byte("abc"), VirtualSize: 0x300}, // raw 0x200
	)
	f := read(t, img, uki.KindUKI)
	s := f.Section(".initrd")
	if s.Size() != 0x300 || s.FileSize() != 0x200 {
		t.Fatalf("Size %d FileSize %d", s.Size(), s.FileSize())
	}
	got := sectionData(t, s)
	want := append([]byte("abc"), make([]byte, 0x300-3)...)
	if !bytes.Equal(got, want) {
		t.Errorf("zero fill wrong: %q...", got[:8])
	}
	// ReadAt in the middle of the boundary.
	buf := make([]byte, 16)
	n, err := s.Open().ReadAt(buf, 0x1f8)
	if n != 16 || err != nil || !bytes.Equal(buf, make([]byte, 16)) {
		t.Errorf("ReadAt across the raw end: %d %v %x", n, err, buf)
	}
}

func TestProfiles(t *testing.T) {
	img := ukitest.UKI(
		ukitest.S(".osrel", "ID=base\n"),
		ukitest.S(".cmdline", "base-cmdline"),
		ukitest.S(".linux", "KERNEL"),
		ukitest.S(".initrd", "BASEINITRD"),
		ukitest.S(".profile", "ID=default\nTITLE=Default\n"),
		ukitest.S(".profile", "ID=debug\nTITLE='Debug mode'\n"),
		ukitest.S(".cmdline", "debug-cmdline"),
		ukitest.S(".profile", "ID=noinitrd\nTITLE=\"No initrd\"\n"),
		ukitest.Section{Name: ".initrd"}, // VirtualSize 0: masks the base .initrd
	)
	f := read(t, img, uki.KindUKI)
	if f.NumProfiles() != 3 || !f.HasProfiles() {
		t.Fatalf("NumProfiles = %d", f.NumProfiles())
	}
	wantCmd := []string{"base-cmdline", "debug-cmdline", "base-cmdline"}
	wantID := []string{"default", "debug", "noinitrd"}
	wantTitle := []string{"Default", "Debug mode", "No initrd"}
	for i, p := range f.Profiles() {
		if p.Number != i || p.ID != wantID[i] || p.Title != wantTitle[i] {
			t.Errorf("profile %d: number %d id %q title %q", i, p.Number, p.ID, p.Title)
		}
		cl, _ := f.Cmdline(p)
		if cl != wantCmd[i] {
			t.Errorf("profile %d cmdline %q, want %q", i, cl, wantCmd[i])
		}
		if p.Section(".linux") == nil || p.Section(".osrel") == nil {
			t.Errorf("profile %d does not inherit .linux/.osrel", i)
		}
		if ps := p.Section(".profile"); ps == nil || ps.Profile != i {
			t.Errorf("profile %d: own .profile section missing", i)
		}
	}
	if p, _ := f.Profile(2); p.Section(".initrd") != nil {
		t.Error("profile 2 should mask .initrd")
	}
	if p, _ := f.Profile(1); string(sectionData(t, p.Section(".initrd"))) != "BASEINITRD" {
		t.Error("profile 1 should inherit .initrd")
	}
}

func TestAddon(t *testing.T) {
	img := ukitest.UKI(ukitest.S(".cmdline", "addon=1"), ukitest.S(".uname", "6.1"))
	f := read(t, img, uki.KindAddon)
	if f.Kind != uki.KindAddon {
		t.Errorf("kind %v", f.Kind)
	}
	f = read(t, img, uki.KindAuto)
	if f.Kind != uki.KindAddon {
		t.Errorf("auto kind %v", f.Kind)
	}
}

func TestRepeatableSections(t *testing.T) {
	img := ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".dtbauto", "A"), ukitest.S(".dtbauto", "B"), ukitest.S(".efifw", "F1"), ukitest.S(".efifw", "F2"))
	f := read(t, img, uki.KindUKI)
	p, _ := f.Profile(0)
	if n := len(p.SectionsNamed(".dtbauto")); n != 2 {
		t.Errorf("%d .dtbauto sections, want 2", n)
	}
}

// recorder records every range read, to prove reading is lazy.
type recorder struct {
	r      io.ReaderAt
	ranges [][2]int64
}

func (r *recorder) ReadAt(p []byte, off int64) (int, error) {
	r.ranges = append(r.ranges, [2]int64{off, off + int64(len(p))})
	return r.r.ReadAt(p, off)
}

func TestReadIsLazy(t *testing.T) {
	big := bytes.Repeat([]byte{0xaa}, 4<<20)
	img := ukitest.UKI(
		ukitest.S(".osrel", "ID=x\n"),
		ukitest.S(".cmdline", "c"),
		ukitest.S(".uname", "u"),
		ukitest.B(".linux", big),
		ukitest.B(".initrd", big),
		ukitest.S(".profile", "ID=a\n"),
	)
	rec := &recorder{r: bytes.NewReader(img)}
	f, err := uki.Read(rec, int64(len(img)), "big.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.Profile(0)
	f.OSRelease(p)
	f.Cmdline(p)
	f.Uname(p)
	f.Certificates()
	var total int64
	for _, s := range []*uki.Section{f.Section(".linux"), f.Section(".initrd")} {
		lo, hi := int64(s.PointerToRawData), int64(s.PointerToRawData)+int64(s.SizeOfRawData)
		for _, r := range rec.ranges {
			if r[0] < hi && lo < r[1] {
				t.Errorf("read %d..%d touches %s (%d..%d)", r[0], r[1], s.Name, lo, hi)
			}
		}
	}
	for _, r := range rec.ranges {
		total += r[1] - r[0]
	}
	if total > 64<<10 {
		t.Errorf("read %d bytes of an %d-byte file to describe it", total, len(img))
	}
}

func TestCertificates(t *testing.T) {
	table := append(ukitest.WinCert(uki.CertTypePKCSSignedData, []byte("sig-one")), ukitest.WinCert(uki.CertTypePKCSSignedData, []byte("second-signature"))...)
	img := ukitest.Image{Sections: []ukitest.Section{ukitest.S(".linux", "K")}, CertTable: table}.Bytes()
	f := read(t, img, uki.KindUKI)
	certs, err := f.Certificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || string(certs[0].Data) != "sig-one" || string(certs[1].Data) != "second-signature" {
		t.Fatalf("certs = %+v", certs)
	}
	if certs[0].Revision != 0x0200 || certs[0].Type != 2 || certs[1].Offset%8 != 0 {
		t.Errorf("cert header %+v", certs[0])
	}
	f = read(t, ukitest.UKI(ukitest.S(".linux", "K")), uki.KindUKI)
	if c, err := f.Certificates(); c != nil || err != nil {
		t.Errorf("unsigned: %v %v", c, err)
	}
}

func TestParseCertificateTableErrors(t *testing.T) {
	le := binary.LittleEndian
	long := make([]byte, 16)
	le.PutUint32(long, 100)
	short := make([]byte, 16)
	le.PutUint32(short, 4)
	for name, buf := range map[string][]byte{
		"too long":   long,
		"too short":  short,
		"tiny":       {1, 2, 3},
		"only zeros": make([]byte, 16),
	} {
		if _, err := uki.ParseCertificateTable(buf, 0); !errors.Is(err, uki.ErrCertTable) {
			t.Errorf("%s: err = %v, want ErrCertTable", name, err)
		}
	}
}

func TestErrorNamesFile(t *testing.T) {
	_, err := uki.Read(bytes.NewReader([]byte("hello")), 5, "/boot/EFI/Linux/x.efi", uki.KindUKI)
	if err == nil || !strings.HasPrefix(err.Error(), "/boot/EFI/Linux/x.efi: ") {
		t.Errorf("error %q does not name the file", err)
	}
}
