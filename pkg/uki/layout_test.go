package uki

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// TestHeaderLayout holds the sizes and offsets parseHeaders relies on to
// the structs that name the fields.
func TestHeaderLayout(t *testing.T) {
	for _, c := range []struct {
		name string
		v    any
		want int
	}{
		{"FileHeader", FileHeader{}, coffHeaderSize},
		{"OptionalHeader64", OptionalHeader64{}, optHeaderSize},
		{"DataDirectory", DataDirectory{}, dataDirectorySize},
		{"rawSectionHeader", rawSectionHeader{}, sectionHeaderSize},
		{"winCertificate", winCertificate{}, winCertificateSize},
	} {
		t.Run(c.name+" size", func(t *testing.T) {
			if got := binary.Size(c.v); got != c.want {
				t.Errorf("binary.Size = %d, the parser assumes %d", got, c.want)
			}
		})
	}
	t.Run("CheckSum offset", func(t *testing.T) {
		b, err := binary.Append(nil, binary.LittleEndian, OptionalHeader64{CheckSum: 0xdeadbeef})
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint32(b[optCheckSumOffset:]); got != 0xdeadbeef {
			t.Errorf("CheckSum is not at offset %d of the optional header", optCheckSumOffset)
		}
	})
}

// TestHeaderMatchesDebugPE parses one image with parseHeaders and with
// debug/pe and compares every field the two have in common.
func TestHeaderMatchesDebugPE(t *testing.T) {
	img, l := ukitest.Image{Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=x\n"), ukitest.S(".linux", "KERNEL"), ukitest.S(".initrd", "INITRD"),
	}}.Build()
	// Give the fields the parser does not check distinct values, so that
	// a field read from the wrong offset shows: TimeDateStamp and
	// Characteristics of the file header; in the optional header
	// everything from the linker version to ImageBase, the versions, and
	// CheckSum to LoaderFlags.
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			img[i] = byte(i*7 + 1)
		}
	}
	fill(l.PEOffset+4+4, l.PEOffset+4+8)
	fill(l.PEOffset+4+18, l.PEOffset+4+20)
	fill(l.OptOffset+2, l.OptOffset+32)
	fill(l.OptOffset+40, l.OptOffset+56)
	fill(l.OptOffset+64, l.OptOffset+108)
	h, secs, err := parseHeaders(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("debug/pe: %v", err)
	}
	opt, ok := ref.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("debug/pe: optional header is %T", ref.OptionalHeader)
	}
	t.Run("FileHeader", func(t *testing.T) {
		sameFields(t, h.FileHeader, ref.FileHeader)
	})
	t.Run("OptionalHeader64", func(t *testing.T) {
		sameFields(t, h.OptionalHeader64, *opt)
	})
	t.Run("DataDirectories", func(t *testing.T) {
		if len(h.DataDirectories) != int(opt.NumberOfRvaAndSizes) {
			t.Fatalf("%d data directories, debug/pe has %d", len(h.DataDirectories), opt.NumberOfRvaAndSizes)
		}
		for i, d := range h.DataDirectories {
			if d.VirtualAddress != opt.DataDirectory[i].VirtualAddress || d.Size != opt.DataDirectory[i].Size {
				t.Errorf("directory %d: %+v, debug/pe: %+v", i, d, opt.DataDirectory[i])
			}
		}
	})
	t.Run("sections", func(t *testing.T) {
		if len(secs) != len(ref.Sections) {
			t.Fatalf("%d sections, debug/pe has %d", len(secs), len(ref.Sections))
		}
		for i, s := range secs {
			sameFields(t, s, ref.Sections[i].SectionHeader)
		}
	})
}

// sameFields compares the fields of got and want that have the same name,
// as numbers or strings, and fails unless at least one matched.
func sameFields(t *testing.T, got, want any) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	n := 0
	for i := 0; i < g.NumField(); i++ {
		name := g.Type().Field(i).Name
		wf := w.FieldByName(name)
		if !wf.IsValid() {
			continue
		}
		n++
		gv, wv := g.Field(i), wf
		if gv.Kind() == reflect.String {
			if gv.String() != wv.String() {
				t.Errorf("%s = %q, debug/pe: %q", name, gv.String(), wv.String())
			}
			continue
		}
		if gv.Convert(reflect.TypeFor[uint64]()).Uint() != wv.Convert(reflect.TypeFor[uint64]()).Uint() {
			t.Errorf("%s = %v, debug/pe: %v", name, gv.Interface(), wv.Interface())
		}
	}
	if n == 0 {
		t.Errorf("%T and %T have no field in common", got, want)
	}
}
