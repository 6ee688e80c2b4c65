package uki

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
)

// Limits applied to values read from a file before anything is allocated.
const (
	// MaxSectionTableBytes bounds the section table, as systemd-stub does.
	MaxSectionTableBytes = 16 << 20
	// MaxCertTableBytes bounds the certificate table read into memory.
	MaxCertTableBytes = 1 << 20
)

// Machine is the COFF machine type of an image.
type Machine uint16

// Machine types a UKI can be built for.
const (
	MachineI386        Machine = 0x014c
	MachineARM         Machine = 0x01c2
	MachineAMD64       Machine = 0x8664
	MachineARM64       Machine = 0xaa64
	MachineRISCV64     Machine = 0x5064
	MachineLoongArch64 Machine = 0x6264
)

var machineNames = map[Machine]string{
	MachineI386:        "x86",
	MachineARM:         "arm",
	MachineAMD64:       "x86-64",
	MachineARM64:       "arm64",
	MachineRISCV64:     "riscv64",
	MachineLoongArch64: "loongarch64",
}

func (m Machine) String() string {
	if s, ok := machineNames[m]; ok {
		return s
	}
	return fmt.Sprintf("0x%04x", uint16(m))
}

// GOARCH returns the Go architecture name of m, or "" if Go has none.
func (m Machine) GOARCH() string {
	switch m {
	case MachineI386:
		return "386"
	case MachineARM:
		return "arm"
	case MachineAMD64:
		return "amd64"
	case MachineARM64:
		return "arm64"
	case MachineRISCV64:
		return "riscv64"
	case MachineLoongArch64:
		return "loong64"
	}
	return ""
}

const (
	dosHeaderSize     = 64
	coffHeaderSize    = 20
	sectionHeaderSize = 40
	pe32PlusMagic     = 0x20b
	pe32Magic         = 0x10b
	// Offsets inside the PE32+ optional header.
	optCheckSum     = 64
	optNumRVA       = 108
	optDataDirs     = 112
	certDirIndex    = 4
	maxDataDirs     = 16
	optMinimumPE32P = optDataDirs // everything up to the data directories
)

// DataDirectory is one entry of the optional header's data directory.
type DataDirectory struct {
	VirtualAddress uint32 // for the certificate table: a file offset
	Size           uint32
}

// Header holds the parsed PE headers and the file offsets of the fields the
// Authenticode digest must skip.
type Header struct {
	Machine              Machine
	NumberOfSections     uint16
	TimeDateStamp        uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
	Magic                uint16
	AddressOfEntryPoint  uint32
	ImageBase            uint64
	SectionAlignment     uint32
	FileAlignment        uint32
	MajorImageVersion    uint16
	MinorImageVersion    uint16
	SizeOfImage          uint32
	SizeOfHeaders        uint32
	CheckSum             uint32
	Subsystem            uint16
	DllCharacteristics   uint16
	DataDirectories      []DataDirectory

	PEOffset           int64 // e_lfanew: where "PE\0\0" is
	CheckSumOffset     int64 // file offset of the CheckSum field
	CertDirOffset      int64 // file offset of data directory 4, or -1
	SectionTableOffset int64
}

// CertTable returns the certificate table's directory entry (zero if absent).
func (h *Header) CertTable() DataDirectory {
	if len(h.DataDirectories) > certDirIndex {
		return h.DataDirectories[certDirIndex]
	}
	return DataDirectory{}
}

// SectionHeader is one raw entry of the section table.
type SectionHeader struct {
	Name             string
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// readAt reads exactly len(b) bytes at off, turning short reads into
// ErrTruncated.
func readAt(r io.ReaderAt, b []byte, off int64, what string) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF || err == io.ErrUnexpectedEOF {
		return errorf(ErrTruncated, "%s at offset %d: want %d bytes, got %d", what, off, len(b), n)
	}
	return fmt.Errorf("reading %s at offset %d: %w", what, off, err)
}

// parseHeaders reads and validates the DOS, COFF and optional headers and the
// section table. It reads only the header bytes.
func parseHeaders(r io.ReaderAt, size int64) (*Header, []SectionHeader, error) {
	var dos [dosHeaderSize]byte
	if size < dosHeaderSize {
		return nil, nil, errorf(ErrNotPE, "%d bytes is too short for a DOS header", size)
	}
	if err := readAt(r, dos[:], 0, "DOS header"); err != nil {
		return nil, nil, err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, nil, errorf(ErrNotPE, "no MZ signature")
	}
	peOff := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if peOff < dosHeaderSize {
		return nil, nil, errorf(ErrNotPE, "PE header offset %d points into the DOS header", peOff)
	}
	if peOff+4+coffHeaderSize > size {
		return nil, nil, errorf(ErrTruncated, "PE header at offset %d is past the end of the file (%d bytes)", peOff, size)
	}
	var pe [4 + coffHeaderSize]byte
	if err := readAt(r, pe[:], peOff, "PE header"); err != nil {
		return nil, nil, err
	}
	if string(pe[:4]) != "PE\x00\x00" {
		return nil, nil, errorf(ErrNotPE, "no PE signature at offset %d", peOff)
	}
	le := binary.LittleEndian
	h := &Header{
		PEOffset:             peOff,
		Machine:              Machine(le.Uint16(pe[4:])),
		NumberOfSections:     le.Uint16(pe[6:]),
		TimeDateStamp:        le.Uint32(pe[8:]),
		SizeOfOptionalHeader: le.Uint16(pe[20:]),
		Characteristics:      le.Uint16(pe[22:]),
		CertDirOffset:        -1,
	}
	if _, ok := machineNames[h.Machine]; !ok {
		return nil, nil, errorf(ErrMachine, "machine 0x%04x", uint16(h.Machine))
	}
	if h.NumberOfSections == 0 {
		return nil, nil, errorf(ErrSectionTable, "no sections")
	}
	optOff := peOff + 4 + coffHeaderSize
	if h.SizeOfOptionalHeader < 2 {
		return nil, nil, errorf(ErrNotPE32Plus, "optional header is %d bytes", h.SizeOfOptionalHeader)
	}
	if optOff+int64(h.SizeOfOptionalHeader) > size {
		return nil, nil, errorf(ErrTruncated, "optional header (%d bytes at offset %d) is past the end of the file", h.SizeOfOptionalHeader, optOff)
	}
	opt := make([]byte, h.SizeOfOptionalHeader) // at most 64 KiB, and inside the file
	if err := readAt(r, opt, optOff, "optional header"); err != nil {
		return nil, nil, err
	}
	h.Magic = le.Uint16(opt)
	switch h.Magic {
	case pe32PlusMagic:
	case pe32Magic:
		return nil, nil, errorf(ErrNotPE32Plus, "32-bit PE32 image (magic 0x10b); UKIs are PE32+")
	default:
		return nil, nil, errorf(ErrNotPE32Plus, "optional header magic 0x%x", h.Magic)
	}
	if len(opt) < optMinimumPE32P {
		return nil, nil, errorf(ErrNotPE32Plus, "PE32+ optional header is %d bytes, need at least %d", len(opt), optMinimumPE32P)
	}
	h.AddressOfEntryPoint = le.Uint32(opt[16:])
	h.ImageBase = le.Uint64(opt[24:])
	h.SectionAlignment = le.Uint32(opt[32:])
	h.FileAlignment = le.Uint32(opt[36:])
	h.MajorImageVersion = le.Uint16(opt[44:])
	h.MinorImageVersion = le.Uint16(opt[46:])
	h.SizeOfImage = le.Uint32(opt[56:])
	h.SizeOfHeaders = le.Uint32(opt[60:])
	h.CheckSum = le.Uint32(opt[optCheckSum:])
	h.Subsystem = le.Uint16(opt[68:])
	h.DllCharacteristics = le.Uint16(opt[70:])
	h.CheckSumOffset = optOff + optCheckSum
	nrva := le.Uint32(opt[optNumRVA:])
	if nrva > maxDataDirs {
		nrva = maxDataDirs
	}
	if optDataDirs+8*int(nrva) > len(opt) {
		return nil, nil, errorf(ErrNotPE32Plus, "%d data directories do not fit in a %d-byte optional header", nrva, len(opt))
	}
	h.DataDirectories = make([]DataDirectory, nrva)
	for i := range h.DataDirectories {
		o := optDataDirs + 8*i
		h.DataDirectories[i] = DataDirectory{le.Uint32(opt[o:]), le.Uint32(opt[o+4:])}
	}
	if nrva > certDirIndex {
		h.CertDirOffset = optOff + optDataDirs + 8*certDirIndex
	}

	h.SectionTableOffset = optOff + int64(h.SizeOfOptionalHeader)
	tableSize := int64(h.NumberOfSections) * sectionHeaderSize
	if tableSize > MaxSectionTableBytes {
		return nil, nil, errorf(ErrSectionTable, "%d sections exceed the %d-byte limit", h.NumberOfSections, MaxSectionTableBytes)
	}
	if h.SectionTableOffset+tableSize > size {
		return nil, nil, errorf(ErrTruncated, "section table (%d sections at offset %d) is past the end of the file (%d bytes)",
			h.NumberOfSections, h.SectionTableOffset, size)
	}
	table := make([]byte, tableSize)
	if err := readAt(r, table, h.SectionTableOffset, "section table"); err != nil {
		return nil, nil, err
	}
	headersEnd := h.SectionTableOffset + tableSize
	secs := make([]SectionHeader, h.NumberOfSections)
	for i := range secs {
		b := table[i*sectionHeaderSize : (i+1)*sectionHeaderSize]
		name, err := sectionName(b[:8])
		if err != nil {
			return nil, nil, errorf(ErrSectionName, "section %d: %v", i, err)
		}
		s := SectionHeader{
			Name:             name,
			VirtualSize:      le.Uint32(b[8:]),
			VirtualAddress:   le.Uint32(b[12:]),
			SizeOfRawData:    le.Uint32(b[16:]),
			PointerToRawData: le.Uint32(b[20:]),
			Characteristics:  le.Uint32(b[36:]),
		}
		if s.SizeOfRawData > 0 {
			start, end := int64(s.PointerToRawData), int64(s.PointerToRawData)+int64(s.SizeOfRawData)
			if end > size {
				return nil, nil, errorf(ErrSectionBounds, "section %d (%s): raw data %d..%d is past the end of the file (%d bytes)",
					i, name, start, end, size)
			}
			if start < headersEnd {
				return nil, nil, errorf(ErrSectionBounds, "section %d (%s): raw data at offset %d overlaps the headers (which end at %d)",
					i, name, start, headersEnd)
			}
		}
		if tail := int64(s.VirtualSize) - int64(s.SizeOfRawData); tail > int64(max(h.SectionAlignment, 4096)) && IsKnownSection(name) {
			return nil, nil, errorf(ErrSectionSize, "section %d (%s): VirtualSize 0x%x is 0x%x bytes beyond its 0x%x bytes of data; UKI sections are not zero-filled",
				i, name, s.VirtualSize, tail, s.SizeOfRawData)
		}
		if vend := uint64(s.VirtualAddress) + uint64(s.VirtualSize); vend > uint64(h.SizeOfImage) {
			return nil, nil, errorf(ErrSectionSize, "section %d (%s): VirtualAddress 0x%x + VirtualSize 0x%x is beyond SizeOfImage 0x%x",
				i, name, s.VirtualAddress, s.VirtualSize, h.SizeOfImage)
		}
		secs[i] = s
	}
	if err := checkOverlaps(secs); err != nil {
		return nil, nil, err
	}
	return h, secs, nil
}

// sectionName decodes an 8-byte, NUL-padded section name. Names are printable
// ASCII; long names ("/123", a string-table reference) are kept verbatim,
// as systemd-stub compares the raw 8 bytes.
func sectionName(b []byte) (string, error) {
	n := 0
	for n < len(b) && b[n] != 0 {
		c := b[n]
		if c <= 0x20 || c >= 0x7f {
			return "", fmt.Errorf("byte 0x%02x at position %d is not printable ASCII", c, n)
		}
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("empty name")
	}
	for _, c := range b[n:] {
		if c != 0 {
			return "", fmt.Errorf("name %q is followed by non-NUL padding", b[:n])
		}
	}
	return string(b[:n]), nil
}

type span struct {
	start, end uint64
	idx        int
}

// checkOverlaps rejects sections whose file ranges or memory ranges overlap.
func checkOverlaps(secs []SectionHeader) error {
	var raw, virt []span
	for i, s := range secs {
		if s.SizeOfRawData > 0 {
			raw = append(raw, span{uint64(s.PointerToRawData), uint64(s.PointerToRawData) + uint64(s.SizeOfRawData), i})
		}
		if s.VirtualSize > 0 {
			virt = append(virt, span{uint64(s.VirtualAddress), uint64(s.VirtualAddress) + uint64(s.VirtualSize), i})
		}
	}
	for _, set := range []struct {
		what  string
		spans []span
	}{{"file", raw}, {"memory", virt}} {
		sp := set.spans
		sort.Slice(sp, func(a, b int) bool { return sp[a].start < sp[b].start })
		for k := 1; k < len(sp); k++ {
			if sp[k].start < sp[k-1].end {
				a, b := secs[sp[k-1].idx], secs[sp[k].idx]
				return errorf(ErrSectionOverlap, "%s ranges of sections %d (%s) and %d (%s) overlap",
					set.what, sp[k-1].idx, a.Name, sp[k].idx, b.Name)
			}
		}
	}
	return nil
}
