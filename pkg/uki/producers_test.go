package uki_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// kernelSBAT is a kernel's .sbat as ukify merges it into the stub's.
const kernelSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
	"linux,1,The Linux Developers,linux,6.1.0,https://linux.org\n" +
	"linux.debian,1,Debian,linux,6.1.0-28-amd64,https://tracker.debian.org/pkg/linux\n"

// ukify255Stub252 builds a UKI the way ukify v255 (pe_add_sections) builds
// one from Debian bookworm's systemd 252 stub: the merged .sbat grows in
// place past .sdmagic's address.
func ukify255Stub252(t *testing.T) ([]byte, string) {
	t.Helper()
	sbat := ukitest.Ukify255SBAT(ukitest.Stub252SBAT, kernelSBAT)
	im, err := ukitest.Ukify255(ukitest.Stub252(),
		ukitest.S(".osrel", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		ukitest.S(".cmdline", "root=/dev/sda2 ro"),
		ukitest.S(".uname", "6.1.0-28-amd64"),
		ukitest.S(".sbat", sbat),
		ukitest.S(".initrd", strings.Repeat("I", 3000)),
		ukitest.S(".linux", strings.Repeat("K", 5000)),
	)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := im.Build()
	return b, sbat
}

// TestUkify255Stub252Layout: ukify v255's pe_add_sections (src/ukify/ukify.py)
// with a systemd 252 stub makes .sbat's memory range overlap .sdmagic's.
// UEFI firmware loads it (EDK2 checks no overlap) and bootctl lists it, so
// ukiboot accepts it; what .sbat holds is what firmware leaves in memory.
func TestUkify255Stub252Layout(t *testing.T) {
	img, sbat := ukify255Stub252(t)
	if len(sbat) <= 0x100 {
		t.Fatalf("merged .sbat is %d bytes, too short to reach .sdmagic", len(sbat))
	}
	f := read(t, img, uki.KindUKI)
	if f.Sections[6].Name != ".sbat" || f.Sections[7].Name != ".sdmagic" {
		t.Fatalf("sections 6 and 7 are %s and %s", f.Sections[6].Name, f.Sections[7].Name)
	}
	want := []uki.Overlap{{Earlier: 6, Later: 7, Start: 0x19100, End: 0x19100 + uint64(len(ukitest.Stub252Magic))}}
	if len(f.Overlaps) != 1 || f.Overlaps[0] != want[0] {
		t.Fatalf("Overlaps = %+v, want %+v", f.Overlaps, want)
	}
	t.Run("sbat as loaded", func(t *testing.T) {
		// Firmware copies .sdmagic (section 7) after .sbat (section 6):
		// its bytes replace .sbat's from 0x100 on.
		mem := []byte(sbat)
		copy(mem[0x100:], ukitest.Stub252Magic)
		if got := sectionData(t, f.Sections[6]); !bytes.Equal(got, mem) {
			t.Errorf(".sbat as loaded:\n got %q\nwant %q", got, mem)
		}
		if got := f.Sections[6].OverlaidBy(); len(got) != 1 || got[0] != 7 {
			t.Errorf("OverlaidBy = %v, want [7]", got)
		}
	})
	t.Run("other sections intact", func(t *testing.T) {
		if got := string(sectionData(t, f.Sections[7])); got != ukitest.Stub252Magic {
			t.Errorf(".sdmagic = %q", got)
		}
		if got := string(sectionData(t, f.Section(uki.SectionLinux))); got != strings.Repeat("K", 5000) {
			t.Errorf(".linux is not the kernel (%d bytes)", len(got))
		}
		if cl, _ := f.Cmdline(f.Profiles()[0]); cl != "root=/dev/sda2 ro" {
			t.Errorf("cmdline %q", cl)
		}
	})
	t.Run("inspect notes it", func(t *testing.T) {
		in, err := f.Describe()
		if err != nil {
			t.Fatal(err)
		}
		if in.Stub != "systemd-stub 252.39-1~deb12u2" {
			t.Errorf("stub %q", in.Stub)
		}
		if len(in.Notes) != 1 || !strings.Contains(in.Notes[0], "memory ranges of sections 6 (.sbat) and 7 (.sdmagic) overlap") {
			t.Errorf("notes %q", in.Notes)
		}
	})
}

// TestLayoutsRefused: what UEFI firmware refuses to load, ukiboot refuses,
// naming the reason; overlapping file ranges stay refused.
func TestLayoutsRefused(t *testing.T) {
	stub := ukitest.Stub252()
	placed := func(f func(im *ukitest.PlacedImage)) []byte {
		im, err := ukitest.Ukify255(stub, ukitest.S(".osrel", "ID=x\n"), ukitest.S(".linux", "KERNEL"))
		if err != nil {
			t.Fatal(err)
		}
		f(&im)
		b, _ := im.Build()
		return b
	}
	last := func(im *ukitest.PlacedImage) *ukitest.Placed { return &im.Sections[len(im.Sections)-1] }
	for _, c := range []struct {
		name string
		img  []byte
		err  error
		msg  string
	}{
		// systemd-measure's man page suggests objcopy --change-section-vma
		// .osrel=0x20000 and so on; an address below SizeOfHeaders is
		// refused by EDK2 (BasePeCoffLib PeCoffLoaderGetPeHeader).
		{"memory range starts inside the headers", placed(func(im *ukitest.PlacedImage) { last(im).VirtualAddress = 0x200 }),
			uki.ErrSectionAddress, "section 9 (.linux): VirtualAddress 0x200 is inside the PE headers (SizeOfHeaders 0x400): UEFI firmware refuses"},
		{"memory range at address 0", placed(func(im *ukitest.PlacedImage) { last(im).VirtualAddress = 0 }),
			uki.ErrSectionAddress, "inside the PE headers"},
		{"file ranges overlap", placed(func(im *ukitest.PlacedImage) { last(im).Pointer = im.Sections[len(im.Sections)-2].Pointer }),
			uki.ErrSectionOverlap, "file ranges of sections 8 (.osrel) and 9 (.linux) overlap"},
		{"file range outside the file", placed(func(im *ukitest.PlacedImage) { last(im).RawSize = 0x10000; im.Size = last(im).Pointer + 0x200 }),
			uki.ErrSectionBounds, "past the end of the file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := uki.Read(bytes.NewReader(c.img), int64(len(c.img)), "bad.efi", uki.KindUKI)
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, c.err, c.msg)
			}
		})
	}
}

// TestManyMemoryOverlapsRefused: the overlaps kept are bounded.
func TestManyMemoryOverlapsRefused(t *testing.T) {
	var secs []ukitest.Placed
	secs = append(secs, ukitest.Placed{Name: ".linux", VirtualSize: 0x10, VirtualAddress: 0x1000, RawSize: 0x200, Pointer: 0x1000})
	for i := range 10 {
		secs = append(secs, ukitest.Placed{Name: ".x", VirtualSize: 0x10, VirtualAddress: 0x1000, RawSize: 0x200, Pointer: 0x1200 + 0x200*uint32(i)})
	}
	img, _ := ukitest.PlacedImage{SectionAlignment: 0x1000, FileAlignment: 0x200, SizeOfHeaders: 0x1000, Sections: secs}.Build()
	_, err := uki.Read(bytes.NewReader(img), int64(len(img)), "bad.efi", uki.KindUKI)
	if !errors.Is(err, uki.ErrSectionOverlap) || !strings.Contains(err.Error(), "more than 16 pairs") {
		t.Fatalf("err = %v", err)
	}
}

// TestLoadedView: where memory ranges overlap, each byte of a section is
// the byte of the last section in table order that covers it, as EDK2's
// PeCoffLoaderLoadImage leaves memory; a later section's zero fill
// (VirtualSize beyond SizeOfRawData) counts too.
func TestLoadedView(t *testing.T) {
	rep := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	secs := []ukitest.Placed{
		{Name: ".linux", VirtualSize: 0x100, VirtualAddress: 0x1000, RawSize: 0x200, Pointer: 0x400, Data: rep('A', 0x100)},
		{Name: ".b", VirtualSize: 0x100, VirtualAddress: 0x1080, RawSize: 0x200, Pointer: 0x600, Data: rep('B', 0x60)},
		{Name: ".c", VirtualSize: 0x10, VirtualAddress: 0x10c0, RawSize: 0x200, Pointer: 0x800, Data: rep('C', 0x10)},
		{Name: ".d", VirtualSize: 0x10, VirtualAddress: 0x0ff8, RawSize: 0x200, Pointer: 0xa00, Data: rep('D', 0x10)},
	}
	img, _ := ukitest.PlacedImage{SectionAlignment: 0x1000, FileAlignment: 0x200, SizeOfHeaders: 0x400, Sections: secs}.Build()
	f := read(t, img, uki.KindUKI)
	// .d (section 3) covers 0x1000..0x1008 of .linux; .b its second half,
	// with data up to 0x10e0 and zeros after; .c is loaded over .b.
	want := slices.Concat(rep('D', 8), rep('A', 0x78), rep('B', 0x40), rep('C', 0x10), rep('B', 0x10), rep(0, 0x20))
	if got := sectionData(t, f.Sections[0]); !bytes.Equal(got, want) {
		t.Errorf(".linux as loaded:\n got %q\nwant %q", got, want)
	}
	for _, c := range []struct {
		name     string
		off, len int64
	}{{"inside one overlay", 0xc4, 4}, {"across overlays", 0x70, 0x80}, {"first byte", 0, 1}, {"last bytes", 0xf0, 0x10}} {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, c.len)
			if _, err := f.Sections[0].Open().ReadAt(b, c.off); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want[c.off:c.off+c.len]) {
				t.Errorf("ReadAt(%#x, %#x) = %q, want %q", c.off, c.len, b, want[c.off:c.off+c.len])
			}
		})
	}
	if got := sectionData(t, f.Sections[1]); !bytes.Equal(got, slices.Concat(rep('B', 0x40), rep('C', 0x10), rep('B', 0x10), rep(0, 0xa0))) {
		t.Errorf(".b as loaded: %q", got)
	}
}
