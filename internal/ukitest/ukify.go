package ukitest

import (
	"fmt"
	"strings"
)

// Placed is a section at an address and file offset of the caller's
// choice, for layouts that Image (which places sections one after the
// other) cannot make.
type Placed struct {
	Name           string
	VirtualSize    uint32
	VirtualAddress uint32
	RawSize        uint32
	Pointer        uint32 // PointerToRawData
	Data           []byte // written at Pointer, at most RawSize bytes
}

// PlacedImage is a PE32+ x86-64 image whose sections are placed by hand.
type PlacedImage struct {
	SectionAlignment uint32
	FileAlignment    uint32
	SizeOfHeaders    uint32
	Sections         []Placed
	// Size is the file size, which may cut sections short; 0 means just
	// past the last section's raw data.
	Size uint32
}

// Build writes the image. The headers are laid out as Image lays them out
// (Layout gives the offsets); SizeOfImage is the end of the last section
// in memory, aligned.
func (im PlacedImage) Build() ([]byte, Layout) {
	l := headerLayout()
	var size, vend uint32
	for _, s := range im.Sections {
		size = max(size, s.Pointer+s.RawSize)
		vend = max(vend, s.VirtualAddress+s.VirtualSize)
	}
	l.SizeOfImage = align(vend, im.SectionAlignment)
	out := make([]byte, size)
	putHeaders(out, &l, 0x8664, 0x20b, im.SectionAlignment, im.FileAlignment, im.SizeOfHeaders, im.Sections)
	if im.Size != 0 && int(im.Size) < len(out) {
		out = out[:im.Size]
	}
	return out, l
}

// Stub252SBAT and Stub252Magic are the .sbat and .sdmagic contents of
// Debian bookworm's systemd 252 stub (linuxx64.efi.stub, 252.39-1~deb12u2).
const (
	Stub252SBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n\x00"
	Stub252Magic = "#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####\x00"
)

// Stub252 returns the sections of Debian bookworm's systemd 252 stub, as
// that file has them (objdump -h): the code and data at their addresses
// (filled with a pattern), and .sbat and .sdmagic, which the linker put
// 0x100 bytes apart in memory but 0x200 bytes apart in the file.
func Stub252() PlacedImage {
	fill := func(n uint32, b byte) []byte {
		d := make([]byte, n)
		for i := range d {
			d[i] = b + byte(i)
		}
		return d
	}
	secs := []Placed{
		{Name: ".text", VirtualSize: 0xbff0, VirtualAddress: 0x4000, RawSize: 0xc000, Pointer: 0x400},
		{Name: ".reloc", VirtualSize: 0xc, VirtualAddress: 0x10000, RawSize: 0x200, Pointer: 0xc400},
		{Name: ".data", VirtualSize: 0x34b8, VirtualAddress: 0x11000, RawSize: 0x3600, Pointer: 0xc600},
		{Name: ".dynamic", VirtualSize: 0x100, VirtualAddress: 0x15000, RawSize: 0x200, Pointer: 0xfc00},
		{Name: ".rela", VirtualSize: 0xf30, VirtualAddress: 0x16000, RawSize: 0x1000, Pointer: 0xfe00},
		{Name: ".dynsym", VirtualSize: 0x18, VirtualAddress: 0x17000, RawSize: 0x200, Pointer: 0x10e00},
		{Name: ".sbat", VirtualSize: uint32(len(Stub252SBAT)), VirtualAddress: 0x19000, RawSize: 0x200, Pointer: 0x11000, Data: []byte(Stub252SBAT)},
		{Name: ".sdmagic", VirtualSize: uint32(len(Stub252Magic)), VirtualAddress: 0x19100, RawSize: 0x200, Pointer: 0x11200, Data: []byte(Stub252Magic)},
	}
	for i := range secs[:6] {
		secs[i].Data = fill(min(secs[i].VirtualSize, secs[i].RawSize), byte(0x10*i))
	}
	return PlacedImage{SectionAlignment: 0x200, FileAlignment: 0x200, SizeOfHeaders: 0x400, Sections: secs}
}

// Ukify255SBAT merges .sbat texts as ukify v255's merge_sbat does: the
// "sbat," header line once, then the other lines of each input (inputs
// not starting with "sbat," are skipped), then a newline and a NUL.
func Ukify255SBAT(inputs ...string) string {
	var lines []string
	for _, in := range inputs {
		split := strings.Split(strings.TrimRight(in, "\x00"), "\n")
		if len(split) > 0 && split[len(split)-1] == "" {
			split = split[:len(split)-1]
		}
		if len(split) == 0 || !strings.HasPrefix(split[0], "sbat,") {
			continue // ukify skips it, saying it is not valid SBAT
		}
		lines = append(lines, split[1:]...)
	}
	return "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" + strings.Join(lines, "\n") + "\n\x00"
}

// Ukify255 adds sections to stub as ukify v255's pe_add_sections does
// (src/ukify/ukify.py): a section the stub already has (.sbat) gets the
// new data in place, if it fits in the old SizeOfRawData, with VirtualSize
// set to the new length; any other section is appended at the end of the
// file, and in memory at the end of the last section, aligned. With the
// systemd 252 stub (Stub252) and a .sbat longer than 0x100 bytes, .sbat's
// memory range then overlaps .sdmagic's, as in UKIs that ukify v255 built
// on Debian bookworm.
func Ukify255(stub PlacedImage, add ...Section) (PlacedImage, error) {
	im := stub
	im.Sections = append([]Placed(nil), stub.Sections...)
	original := len(im.Sections)
	end := uint32(0)
	for _, s := range im.Sections {
		end = max(end, s.Pointer+s.RawSize)
	}
	for _, a := range add {
		vs := uint32(len(a.Data))
		raw := align(vs, im.FileAlignment)
		replaced := false
		for i := range im.Sections[:original] {
			old := &im.Sections[i]
			if old.Name != a.Name {
				continue
			}
			if vs > old.RawSize {
				return PlacedImage{}, fmt.Errorf("not enough space in existing section %s to append new data", a.Name)
			}
			if raw != old.RawSize {
				return PlacedImage{}, fmt.Errorf("%s: ukify v255 would shift the sections after it without updating their offsets", a.Name)
			}
			old.Data, old.VirtualSize = a.Data, vs
			replaced = true
			break
		}
		if replaced {
			continue
		}
		last := im.Sections[len(im.Sections)-1]
		p := Placed{
			Name: a.Name, VirtualSize: vs, RawSize: raw, Data: a.Data,
			Pointer:        align(end, im.FileAlignment),
			VirtualAddress: align(last.VirtualAddress+last.VirtualSize, im.SectionAlignment),
		}
		end = p.Pointer + raw
		im.Sections = append(im.Sections, p)
	}
	return im, nil
}
