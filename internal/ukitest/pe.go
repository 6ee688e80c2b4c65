// Package ukitest builds PE32+ images (UKIs, addons, malformed files) for
// tests, so that no binary fixture has to be checked in.
package ukitest

import (
	"bytes"
	"encoding/binary"
)

// Section is one section to lay out.
type Section struct {
	Name string
	Data []byte
	// VirtualSize defaults to len(Data).
	VirtualSize uint32
	// RawSize defaults to len(Data) rounded up to the file alignment.
	RawSize uint32
	// Gap is a number of bytes that no section covers, left before this
	// section's raw data and filled with GapByte.
	Gap uint32
}

// GapByte fills the gaps between sections.
const GapByte = 0xee

// Image describes a PE32+ file.
type Image struct {
	Machine          uint16 // default 0x8664
	Magic            uint16 // default 0x20b
	SectionAlignment uint32 // default 0x1000
	FileAlignment    uint32 // default 0x200
	Sections         []Section
	// Trailer is appended after the last section (data that no section
	// covers, as some signing tools leave).
	Trailer []byte
	// CertTable, when set, is appended 8-byte aligned after everything
	// else and named by data directory 4.
	CertTable []byte
}

// Layout says where things ended up, for tests that patch bytes.
type Layout struct {
	PEOffset           int
	OptOffset          int
	SectionTableOffset int
	SectionHeaders     []int // offset of each section header
	SectionData        []int // PointerToRawData of each section
	CertDirOffset      int
	SizeOfImage        uint32
}

const (
	peOffset = 0x80
	optSize  = 240
)

func align(n, a uint32) uint32 { return (n + a - 1) / a * a }

// Build lays out the image and returns its bytes.
func (im Image) Build() ([]byte, Layout) {
	if im.Machine == 0 {
		im.Machine = 0x8664
	}
	if im.Magic == 0 {
		im.Magic = 0x20b
	}
	if im.SectionAlignment == 0 {
		im.SectionAlignment = 0x1000
	}
	if im.FileAlignment == 0 {
		im.FileAlignment = 0x200
	}
	le := binary.LittleEndian
	l := headerLayout()
	headersEnd := uint32(l.SectionTableOffset + 40*len(im.Sections))
	sizeOfHeaders := align(headersEnd, im.FileAlignment)

	// Assign file offsets and virtual addresses.
	fileOff := sizeOfHeaders
	va := align(sizeOfHeaders, im.SectionAlignment)
	type placed struct {
		vs, va, raw, ptr uint32
	}
	pl := make([]placed, len(im.Sections))
	for i, s := range im.Sections {
		vs := s.VirtualSize
		if vs == 0 {
			vs = uint32(len(s.Data))
		}
		raw := s.RawSize
		if raw == 0 {
			raw = align(uint32(len(s.Data)), im.FileAlignment)
		}
		p := placed{vs: vs, va: va, raw: raw}
		if raw > 0 {
			fileOff += s.Gap
			p.ptr = fileOff
			fileOff += align(raw, im.FileAlignment)
		}
		pl[i] = p
		va = align(va+max(vs, 1), im.SectionAlignment)
	}
	sizeOfImage := va
	l.SizeOfImage = sizeOfImage

	out := make([]byte, fileOff)
	for i, s := range im.Sections {
		if pl[i].raw > 0 {
			copy(out[pl[i].ptr-s.Gap:pl[i].ptr], bytes.Repeat([]byte{GapByte}, int(s.Gap)))
		}
	}
	secs := make([]Placed, len(im.Sections))
	for i, s := range im.Sections {
		secs[i] = Placed{Name: s.Name, VirtualSize: pl[i].vs, VirtualAddress: pl[i].va,
			RawSize: pl[i].raw, Pointer: pl[i].ptr, Data: s.Data}
	}
	putHeaders(out, &l, im.Machine, im.Magic, im.SectionAlignment, im.FileAlignment, sizeOfHeaders, secs)
	out = append(out, im.Trailer...)
	if im.CertTable != nil {
		for len(out)%8 != 0 {
			out = append(out, 0)
		}
		le.PutUint32(out[l.CertDirOffset:], uint32(len(out)))
		le.PutUint32(out[l.CertDirOffset+4:], uint32(len(im.CertTable)))
		out = append(out, im.CertTable...)
	}
	return out, l
}

// putHeaders writes the DOS stub's signature and PE offset, the COFF and
// optional headers and the section table of secs into out, whose
// l.SizeOfImage is set, copies each section's data to its place and
// records the section offsets in l.
func putHeaders(out []byte, l *Layout, machine, magic uint16, sectionAlignment, fileAlignment, sizeOfHeaders uint32, secs []Placed) {
	le := binary.LittleEndian
	out[0], out[1] = 'M', 'Z'
	le.PutUint32(out[0x3c:], peOffset)
	copy(out[peOffset:], "PE\x00\x00")
	coff := out[peOffset+4:]
	le.PutUint16(coff[0:], machine)
	le.PutUint16(coff[2:], uint16(len(secs)))
	le.PutUint16(coff[16:], optSize)
	le.PutUint16(coff[18:], 0x0206) // executable, line numbers and debug info stripped
	opt := out[l.OptOffset:]
	le.PutUint16(opt[0:], magic)
	le.PutUint32(opt[32:], sectionAlignment)
	le.PutUint32(opt[36:], fileAlignment)
	le.PutUint16(opt[44:], 1) // MajorImageVersion: Linux EFI stub >= 1.0
	le.PutUint32(opt[56:], l.SizeOfImage)
	le.PutUint32(opt[60:], sizeOfHeaders)
	le.PutUint16(opt[68:], 10) // EFI application
	le.PutUint32(opt[108:], 16)
	for i, s := range secs {
		h := out[l.SectionTableOffset+40*i:]
		l.SectionHeaders = append(l.SectionHeaders, l.SectionTableOffset+40*i)
		l.SectionData = append(l.SectionData, int(s.Pointer))
		copy(h[:8], s.Name)
		le.PutUint32(h[8:], s.VirtualSize)
		le.PutUint32(h[12:], s.VirtualAddress)
		le.PutUint32(h[16:], s.RawSize)
		le.PutUint32(h[20:], s.Pointer)
		le.PutUint32(h[36:], 0x40000040) // initialized data, readable
		copy(out[s.Pointer:s.Pointer+s.RawSize], s.Data)
	}
}

// Bytes is Build without the layout.
func (im Image) Bytes() []byte {
	b, _ := im.Build()
	return b
}

// UKI returns a UKI with the given sections in order.
func UKI(sections ...Section) []byte {
	return Image{Sections: sections}.Bytes()
}

// S is shorthand for a section with string data.
func S(name, data string) Section { return Section{Name: name, Data: []byte(data)} }

// B is shorthand for a section with binary data.
func B(name string, data []byte) Section { return Section{Name: name, Data: data} }

// WinCert wraps data in a WIN_CERTIFICATE entry of the given type, padded
// to 8 bytes.
func WinCert(typ uint16, data []byte) []byte {
	b := make([]byte, 8, 8+len(data)+7)
	binary.LittleEndian.PutUint32(b, uint32(8+len(data)))
	binary.LittleEndian.PutUint16(b[4:], 0x0200)
	binary.LittleEndian.PutUint16(b[6:], typ)
	b = append(b, data...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// headerLayout is where the PE headers this package writes put their
// parts (the sections come after, as each builder places them).
func headerLayout() Layout {
	var l Layout
	l.PEOffset = peOffset
	l.OptOffset = peOffset + 4 + 20
	l.SectionTableOffset = l.OptOffset + optSize
	l.CertDirOffset = l.OptOffset + 112 + 4*8
	return l
}
