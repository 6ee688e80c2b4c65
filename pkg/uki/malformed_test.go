package uki_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// TestMalformed feeds broken files and checks each gets its own error.
func TestMalformed(t *testing.T) {
	le := binary.LittleEndian
	good := ukitest.Image{Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=x\n"),
		ukitest.S(".linux", "KERNEL"),
		ukitest.S(".initrd", "INITRD"),
	}}
	base, lay := good.Build()
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(base)
		f(b)
		return b
	}
	sec := func(i, field int) int { return lay.SectionHeaders[i] + field }
	const (
		fVirtualSize = 8
		fVirtualAddr = 12
		fRawSize     = 16
		fRawPtr      = 20
	)
	many := make([]ukitest.Section, 0, 260)
	many = append(many, ukitest.S(".linux", "K"))
	for i := 0; i < 257; i++ {
		many = append(many, ukitest.S(".profile", "ID=p\n"))
	}

	cases := []struct {
		name string
		data []byte
		want uki.Kind
		err  error
		msg  string // substring of the message
	}{
		{"empty", nil, uki.KindUKI, uki.ErrNotPE, "too short"},
		{"text file", []byte(strings.Repeat("hello world\n", 10)), uki.KindUKI, uki.ErrNotPE, "no MZ"},
		{"truncated DOS header", base[:40], uki.KindUKI, uki.ErrNotPE, "too short"},
		{"truncated PE header", base[:lay.PEOffset+10], uki.KindUKI, uki.ErrTruncated, "PE header"},
		{"truncated optional header", base[:lay.OptOffset+100], uki.KindUKI, uki.ErrTruncated, "optional header"},
		{"truncated section table", base[:lay.SectionTableOffset+50], uki.KindUKI, uki.ErrTruncated, "section table"},
		{"truncated section data", base[:len(base)-0x100], uki.KindUKI, uki.ErrSectionBounds, ".initrd"},
		{"PE offset into DOS header", patch(func(b []byte) { le.PutUint32(b[0x3c:], 8) }), uki.KindUKI, uki.ErrNotPE, "DOS header"},
		{"PE offset past EOF", patch(func(b []byte) { le.PutUint32(b[0x3c:], 0xfffffff0) }), uki.KindUKI, uki.ErrTruncated, "past the end"},
		{"no PE signature", patch(func(b []byte) { b[lay.PEOffset+1] = 'X' }), uki.KindUKI, uki.ErrNotPE, "no PE signature"},
		{"PE32 not PE32+", patch(func(b []byte) { le.PutUint16(b[lay.OptOffset:], 0x10b) }), uki.KindUKI, uki.ErrNotPE32Plus, "PE32"},
		{"bad optional magic", patch(func(b []byte) { le.PutUint16(b[lay.OptOffset:], 0x107) }), uki.KindUKI, uki.ErrNotPE32Plus, "0x107"},
		{"unknown machine", patch(func(b []byte) { le.PutUint16(b[lay.PEOffset+4:], 0x1234) }), uki.KindUKI, uki.ErrMachine, "0x1234"},
		{"zero sections", patch(func(b []byte) { le.PutUint16(b[lay.PEOffset+6:], 0) }), uki.KindUKI, uki.ErrSectionTable, "no sections"},
		{"section count past EOF", patch(func(b []byte) { le.PutUint16(b[lay.PEOffset+6:], 0xffff) }), uki.KindUKI, uki.ErrTruncated, "section table"},
		{"tiny optional header", patch(func(b []byte) { le.PutUint16(b[lay.PEOffset+20:], 64) }), uki.KindUKI, uki.ErrNotPE32Plus, "64 bytes"},
		{"bad section name", patch(func(b []byte) { b[sec(1, 2)] = 0x01 }), uki.KindUKI, uki.ErrSectionName, "section 1"},
		{"empty section name", patch(func(b []byte) { clear(b[sec(1, 0):sec(1, 8)]) }), uki.KindUKI, uki.ErrSectionName, "empty"},
		{"section past EOF", patch(func(b []byte) { le.PutUint32(b[sec(2, fRawPtr):], uint32(len(base))) }), uki.KindUKI, uki.ErrSectionBounds, "past the end"},
		{"section raw size huge", patch(func(b []byte) { le.PutUint32(b[sec(1, fRawSize):], 0xffffff00) }), uki.KindUKI, uki.ErrSectionBounds, ".linux"},
		{"section inside headers", patch(func(b []byte) { le.PutUint32(b[sec(0, fRawPtr):], 0x10) }), uki.KindUKI, uki.ErrSectionBounds, "headers"},
		{"huge VirtualSize", patch(func(b []byte) { le.PutUint32(b[sec(1, fVirtualSize):], 0xfffffff0) }), uki.KindUKI, uki.ErrSectionSize, "not zero-filled"},
		{"tiny file, 4 GiB .linux", ukitest.UKI(ukitest.Section{Name: ".linux", Data: []byte("K"), VirtualSize: 0xf0000000}), uki.KindUKI, uki.ErrSectionSize, "not zero-filled"},
		{"VirtualSize beyond SizeOfImage", func() []byte {
			b, l := ukitest.Image{Sections: []ukitest.Section{ukitest.S(".linux", "K"), ukitest.S(".bss", "x")}}.Build()
			le.PutUint32(b[l.SectionHeaders[1]+fVirtualSize:], 0xfffffff0)
			return b
		}(), uki.KindUKI, uki.ErrSectionSize, "SizeOfImage"},
		{"overlapping file ranges", patch(func(b []byte) {
			le.PutUint32(b[sec(2, fRawPtr):], le.Uint32(b[sec(1, fRawPtr):]))
		}), uki.KindUKI, uki.ErrSectionOverlap, "file ranges"},
		{"memory range inside the headers", patch(func(b []byte) {
			le.PutUint32(b[sec(2, fVirtualAddr):], 0x100)
		}), uki.KindUKI, uki.ErrSectionAddress, "section 2 (.initrd): VirtualAddress 0x100 is inside the PE headers"},
		{"duplicate section", ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".cmdline", "a"), ukitest.S(".cmdline", "b")), uki.KindUKI, uki.ErrDuplicate, ".cmdline appears twice in the base"},
		{"duplicate in profile", ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".profile", "ID=a"), ukitest.S(".initrd", "a"), ukitest.S(".initrd", "b")), uki.KindUKI, uki.ErrDuplicate, "profile 0"},
		{"no .linux", ukitest.UKI(ukitest.S(".osrel", "ID=x"), ukitest.S(".initrd", "i")), uki.KindUKI, uki.ErrNoLinux, "not a UKI"},
		{"neither", ukitest.UKI(ukitest.S(".text", "code")), uki.KindAuto, uki.ErrNoLinux, "neither"},
		{"profile masks .linux", ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".profile", "ID=a"), ukitest.Section{Name: ".linux"}), uki.KindUKI, uki.ErrNoLinux, "profile 0"},
		{"addon with .linux", ukitest.UKI(ukitest.S(".cmdline", "x"), ukitest.S(".linux", "K")), uki.KindAddon, uki.ErrAddonHasLinux, "must not"},
		{"empty addon", ukitest.UKI(ukitest.S(".uname", "6.1")), uki.KindAddon, uki.ErrAddonEmpty, ""},
		{"too many profiles", ukitest.Image{Sections: many}.Bytes(), uki.KindUKI, uki.ErrProfile, "257 profiles"},
		{"profile not UTF-8", ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".profile", "ID=\xff\xfe")), uki.KindUKI, uki.ErrProfile, "UTF-8"},
		{"cert table past EOF", patch(func(b []byte) {
			le.PutUint32(b[lay.CertDirOffset:], uint32(len(base)-8))
			le.PutUint32(b[lay.CertDirOffset+4:], 64)
		}), uki.KindUKI, uki.ErrCertTable, "past the end"},
		{"cert table over a section", patch(func(b []byte) {
			le.PutUint32(b[lay.CertDirOffset:], uint32(lay.SectionData[1]))
			le.PutUint32(b[lay.CertDirOffset+4:], 16)
		}), uki.KindUKI, uki.ErrCertTable, "overlaps section 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := uki.Read(bytes.NewReader(c.data), int64(len(c.data)), "bad.efi", c.want)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			var fe *uki.FormatError
			if !errors.As(err, &fe) || fe.File != "bad.efi" {
				t.Errorf("error %v is not a FormatError naming the file", err)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "bad.efi: ") {
				t.Errorf("message %q lacks %q", err, c.msg)
			}
		})
	}
	// The unpatched base must be fine, or the cases above prove nothing.
	if _, err := uki.Read(bytes.NewReader(base), int64(len(base)), "good.efi", uki.KindUKI); err != nil {
		t.Fatalf("base image: %v", err)
	}
}

// TestHugeZeroFillStreams checks a large zero-filled section (allowed for
// sections UKIs do not use, like a stub's .bss) is streamed, not allocated.
func TestHugeZeroFillStreams(t *testing.T) {
	img := ukitest.UKI(ukitest.S(".linux", "K"), ukitest.Section{Name: ".bss", Data: []byte("x"), VirtualSize: 1 << 30})
	f := read(t, img, uki.KindUKI)
	s := f.Sections[1]
	if s.Size() != 1<<30 {
		t.Fatalf("size %d", s.Size())
	}
	if _, err := s.ReadAll(uki.MaxTextSize); !errors.Is(err, uki.ErrSectionTooLarge) {
		t.Errorf("ReadAll of 1 GiB: %v, want ErrSectionTooLarge", err)
	}
	buf := make([]byte, 4)
	if n, err := s.Open().ReadAt(buf, 1<<30-4); n != 4 || err != nil {
		t.Errorf("ReadAt at the end: %d %v", n, err)
	}
}
