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

func (m Machine) String() string {
	switch m {
	case MachineI386:
		return "x86"
	case MachineARM:
		return "arm"
	case MachineAMD64:
		return "x86-64"
	case MachineARM64:
		return "arm64"
	case MachineRISCV64:
		return "riscv64"
	case MachineLoongArch64:
		return "loongarch64"
	}
	return fmt.Sprintf("0x%04x", uint16(m))
}

// known reports whether m is one of the machine types above.
func (m Machine) known() bool { return m.GOARCH() != "" }

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

// The PE32+ layout, as the PE format specification ("PE Format", Microsoft)
// describes it: the MS-DOS stub, whose e_lfanew field (at 0x3c) gives the
// offset of the "PE\0\0" signature; the COFF file header ([FileHeader]);
// the optional header ([OptionalHeader64], then NumberOfRvaAndSizes
// [DataDirectory] entries, then padding up to SizeOfOptionalHeader); the
// section table ([SectionHeader] entries of sectionHeaderSize bytes).
const (
	dosHeaderSize     = 64
	dosLfanewOffset   = 0x3c
	peSignature       = "PE\x00\x00"
	coffHeaderSize    = 20  // binary.Size(FileHeader{})
	optHeaderSize     = 112 // binary.Size(OptionalHeader64{}): up to the data directories
	dataDirectorySize = 8   // binary.Size(DataDirectory{})
	sectionHeaderSize = 40  // binary.Size(rawSectionHeader{})
	pe32PlusMagic     = 0x20b
	pe32Magic         = 0x10b
	// optCheckSumOffset is the offset of OptionalHeader64.CheckSum in the
	// optional header: the field the Authenticode digest skips.
	optCheckSumOffset = 64
	// certDirIndex is the index of the certificate table ("Attribute
	// Certificate Table") among the data directories.
	certDirIndex = 4
	// maxDataDirs is the number of data directories the specification
	// defines; a larger NumberOfRvaAndSizes is read as this many.
	maxDataDirs = 16
)

// FileHeader is the COFF file header that follows the "PE\0\0" signature.
type FileHeader struct {
	Machine              Machine
	NumberOfSections     uint16
	TimeDateStamp        uint32
	PointerToSymbolTable uint32
	NumberOfSymbols      uint32
	SizeOfOptionalHeader uint16
	Characteristics      uint16
}

// OptionalHeader64 is the fixed part of the PE32+ optional header: its
// standard and Windows-specific fields, up to the data directories.
type OptionalHeader64 struct {
	Magic                       uint16
	MajorLinkerVersion          uint8
	MinorLinkerVersion          uint8
	SizeOfCode                  uint32
	SizeOfInitializedData       uint32
	SizeOfUninitializedData     uint32
	AddressOfEntryPoint         uint32
	BaseOfCode                  uint32
	ImageBase                   uint64
	SectionAlignment            uint32
	FileAlignment               uint32
	MajorOperatingSystemVersion uint16
	MinorOperatingSystemVersion uint16
	MajorImageVersion           uint16
	MinorImageVersion           uint16
	MajorSubsystemVersion       uint16
	MinorSubsystemVersion       uint16
	Win32VersionValue           uint32
	SizeOfImage                 uint32
	SizeOfHeaders               uint32
	CheckSum                    uint32
	Subsystem                   uint16
	DllCharacteristics          uint16
	SizeOfStackReserve          uint64
	SizeOfStackCommit           uint64
	SizeOfHeapReserve           uint64
	SizeOfHeapCommit            uint64
	LoaderFlags                 uint32
	NumberOfRvaAndSizes         uint32
}

// DataDirectory is one entry of the optional header's data directory.
type DataDirectory struct {
	VirtualAddress uint32 // for the certificate table: a file offset
	Size           uint32
}

// Header holds the parsed PE headers and the file offsets of the fields the
// Authenticode digest must skip.
type Header struct {
	FileHeader
	OptionalHeader64
	// DataDirectories are the first NumberOfRvaAndSizes entries (at most
	// 16) of the data directory.
	DataDirectories []DataDirectory

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

// SectionHeader is one entry of the section table, with its name decoded.
type SectionHeader struct {
	Name                 string
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32
}

// rawSectionHeader is a section table entry as it is in the file.
type rawSectionHeader struct {
	Name                 [8]byte
	VirtualSize          uint32
	VirtualAddress       uint32
	SizeOfRawData        uint32
	PointerToRawData     uint32
	PointerToRelocations uint32
	PointerToLinenumbers uint32
	NumberOfRelocations  uint16
	NumberOfLinenumbers  uint16
	Characteristics      uint32
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

// decode fills the fixed-size v from the start of b, little-endian; b
// holds at least binary.Size(v) bytes.
func decode(b []byte, v any) {
	if _, err := binary.Decode(b, binary.LittleEndian, v); err != nil {
		panic(fmt.Sprintf("uki: decoding %T from %d bytes: %v", v, len(b), err)) // a bug: callers check the length
	}
}

// parseHeaders reads and validates the DOS, COFF and optional headers and the
// section table. It reads only the header bytes.
func parseHeaders(r io.ReaderAt, size int64) (*Header, []SectionHeader, error) {
	h := &Header{CertDirOffset: -1}
	if err := readFileHeader(r, size, h); err != nil {
		return nil, nil, err
	}
	if err := readOptionalHeader(r, size, h); err != nil {
		return nil, nil, err
	}
	secs, err := readSectionTable(r, size, h)
	if err != nil {
		return nil, nil, err
	}
	if err := checkFileOverlaps(secs); err != nil {
		return nil, nil, err
	}
	return h, secs, nil
}

// readFileHeader reads the DOS header's e_lfanew, the PE signature and the
// COFF file header into h.
func readFileHeader(r io.ReaderAt, size int64, h *Header) error {
	var dos [dosHeaderSize]byte
	if size < dosHeaderSize {
		return errorf(ErrNotPE, "%d bytes is too short for a DOS header", size)
	}
	if err := readAt(r, dos[:], 0, "DOS header"); err != nil {
		return err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return errorf(ErrNotPE, "no MZ signature")
	}
	peOff := int64(binary.LittleEndian.Uint32(dos[dosLfanewOffset:]))
	if peOff < dosHeaderSize {
		return errorf(ErrNotPE, "PE header offset %d points into the DOS header", peOff)
	}
	if peOff+int64(len(peSignature))+coffHeaderSize > size {
		return errorf(ErrTruncated, "PE header at offset %d is past the end of the file (%d bytes)", peOff, size)
	}
	var pe [len(peSignature) + coffHeaderSize]byte
	if err := readAt(r, pe[:], peOff, "PE header"); err != nil {
		return err
	}
	if string(pe[:len(peSignature)]) != peSignature {
		return errorf(ErrNotPE, "no PE signature at offset %d", peOff)
	}
	h.PEOffset = peOff
	decode(pe[len(peSignature):], &h.FileHeader)
	if !h.Machine.known() {
		return errorf(ErrMachine, "machine 0x%04x", uint16(h.Machine))
	}
	if h.NumberOfSections == 0 {
		return errorf(ErrSectionTable, "no sections")
	}
	return nil
}

// readOptionalHeader reads the PE32+ optional header and its data
// directories into h, and sets the offsets that follow from them.
func readOptionalHeader(r io.ReaderAt, size int64, h *Header) error {
	optOff := h.PEOffset + int64(len(peSignature)) + coffHeaderSize
	if h.SizeOfOptionalHeader < 2 {
		return errorf(ErrNotPE32Plus, "optional header is %d bytes", h.SizeOfOptionalHeader)
	}
	if optOff+int64(h.SizeOfOptionalHeader) > size {
		return errorf(ErrTruncated, "optional header (%d bytes at offset %d) is past the end of the file", h.SizeOfOptionalHeader, optOff)
	}
	opt := make([]byte, h.SizeOfOptionalHeader) // at most 64 KiB, and inside the file
	if err := readAt(r, opt, optOff, "optional header"); err != nil {
		return err
	}
	switch magic := binary.LittleEndian.Uint16(opt); magic {
	case pe32PlusMagic:
	case pe32Magic:
		return errorf(ErrNotPE32Plus, "32-bit PE32 image (magic 0x10b); UKIs are PE32+")
	default:
		return errorf(ErrNotPE32Plus, "optional header magic 0x%x", magic)
	}
	if len(opt) < optHeaderSize {
		return errorf(ErrNotPE32Plus, "PE32+ optional header is %d bytes, need at least %d", len(opt), optHeaderSize)
	}
	decode(opt, &h.OptionalHeader64)
	h.CheckSumOffset = optOff + optCheckSumOffset
	n := min(h.NumberOfRvaAndSizes, maxDataDirs)
	if optHeaderSize+dataDirectorySize*int(n) > len(opt) {
		return errorf(ErrNotPE32Plus, "%d data directories do not fit in a %d-byte optional header", n, len(opt))
	}
	h.DataDirectories = make([]DataDirectory, n)
	decode(opt[optHeaderSize:], h.DataDirectories)
	if n > certDirIndex {
		h.CertDirOffset = optOff + optHeaderSize + dataDirectorySize*certDirIndex
	}
	h.SectionTableOffset = optOff + int64(h.SizeOfOptionalHeader)
	return nil
}

// readSectionTable reads and checks the section table that h locates.
func readSectionTable(r io.ReaderAt, size int64, h *Header) ([]SectionHeader, error) {
	tableSize := int64(h.NumberOfSections) * sectionHeaderSize
	if tableSize > MaxSectionTableBytes {
		return nil, errorf(ErrSectionTable, "%d sections exceed the %d-byte limit", h.NumberOfSections, MaxSectionTableBytes)
	}
	if h.SectionTableOffset+tableSize > size {
		return nil, errorf(ErrTruncated, "section table (%d sections at offset %d) is past the end of the file (%d bytes)",
			h.NumberOfSections, h.SectionTableOffset, size)
	}
	table := make([]byte, tableSize)
	if err := readAt(r, table, h.SectionTableOffset, "section table"); err != nil {
		return nil, err
	}
	raw := make([]rawSectionHeader, h.NumberOfSections)
	decode(table, raw)
	headersEnd := h.SectionTableOffset + tableSize
	secs := make([]SectionHeader, len(raw))
	for i, rs := range raw {
		name, err := sectionName(rs.Name[:])
		if err != nil {
			return nil, errorf(ErrSectionName, "section %d: %v", i, err)
		}
		s := SectionHeader{
			Name:                 name,
			VirtualSize:          rs.VirtualSize,
			VirtualAddress:       rs.VirtualAddress,
			SizeOfRawData:        rs.SizeOfRawData,
			PointerToRawData:     rs.PointerToRawData,
			PointerToRelocations: rs.PointerToRelocations,
			PointerToLinenumbers: rs.PointerToLinenumbers,
			NumberOfRelocations:  rs.NumberOfRelocations,
			NumberOfLinenumbers:  rs.NumberOfLinenumbers,
			Characteristics:      rs.Characteristics,
		}
		if err := checkSection(i, s, size, headersEnd, h); err != nil {
			return nil, err
		}
		secs[i] = s
	}
	return secs, nil
}

// checkSection checks that section i's raw data lies in the file after the
// headers (which end at headersEnd), its memory range inside the image and
// not over the headers and, for the sections a UKI defines, is not mostly
// zero fill. (Raw data inside SizeOfHeaders is left to the Authenticode
// layout check, which names what a signature would leave unsigned.)
func checkSection(i int, s SectionHeader, size, headersEnd int64, h *Header) error {
	if s.SizeOfRawData > 0 {
		start, end := int64(s.PointerToRawData), int64(s.PointerToRawData)+int64(s.SizeOfRawData)
		if end > size {
			return errorf(ErrSectionBounds, "section %d (%s): raw data %d..%d is past the end of the file (%d bytes)",
				i, s.Name, start, end, size)
		}
		if start < headersEnd {
			return errorf(ErrSectionBounds, "section %d (%s): raw data at offset %d overlaps the headers (which end at %d)",
				i, s.Name, start, headersEnd)
		}
		// EDK2 BasePeCoffLib PeCoffLoaderGetPeHeader: "Section data
		// should bigger than the Pe header"; OVMF refuses the image.
		if s.VirtualAddress < h.SizeOfHeaders {
			return errorf(ErrSectionAddress, "section %d (%s): VirtualAddress 0x%x is inside the PE headers (SizeOfHeaders 0x%x): UEFI firmware refuses to load it; "+
				"rebuild the UKI with ukify, or give each section a VMA above the stub's image (objcopy --change-section-vma)",
				i, s.Name, s.VirtualAddress, h.SizeOfHeaders)
		}
	}
	if tail := int64(s.VirtualSize) - int64(s.SizeOfRawData); tail > int64(max(h.SectionAlignment, 4096)) && IsKnownSection(s.Name) {
		return errorf(ErrSectionSize, "section %d (%s): VirtualSize 0x%x is 0x%x bytes beyond its 0x%x bytes of data; UKI sections are not zero-filled",
			i, s.Name, s.VirtualSize, tail, s.SizeOfRawData)
	}
	if vend := uint64(s.VirtualAddress) + uint64(s.VirtualSize); vend > uint64(h.SizeOfImage) {
		return errorf(ErrSectionSize, "section %d (%s): VirtualAddress 0x%x + VirtualSize 0x%x is beyond SizeOfImage 0x%x",
			i, s.Name, s.VirtualAddress, s.VirtualSize, h.SizeOfImage)
	}
	return nil
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

// checkFileOverlaps rejects sections whose file ranges overlap: the bytes
// of each section are then covered once by the Authenticode digest and
// belong to one section only.
func checkFileOverlaps(secs []SectionHeader) error {
	var raw []span
	for i, s := range secs {
		if s.SizeOfRawData > 0 {
			raw = append(raw, span{uint64(s.PointerToRawData), uint64(s.PointerToRawData) + uint64(s.SizeOfRawData), i})
		}
	}
	sort.Slice(raw, func(a, b int) bool { return raw[a].start < raw[b].start })
	for k := 1; k < len(raw); k++ {
		if raw[k].start < raw[k-1].end {
			a, b := raw[k-1].idx, raw[k].idx
			return errorf(ErrSectionOverlap, "file ranges of sections %d (%s) and %d (%s) overlap", a, secs[a].Name, b, secs[b].Name)
		}
	}
	return nil
}

// MaxMemoryOverlaps bounds the pairs of sections whose memory ranges
// overlap that a file may have. Real producers make at most one (ukify
// growing a systemd 252 stub's .sbat over its .sdmagic).
const MaxMemoryOverlaps = 16

// Overlap is a pair of sections whose memory ranges overlap. UEFI firmware
// copies sections into memory in table order (EDK2 BasePeCoffLib
// PeCoffLoaderLoadImage), so Later's bytes replace Earlier's where the two
// ranges meet.
type Overlap struct {
	Earlier, Later int // indexes in the section table, Earlier < Later
	// Start and End are the memory range both cover (relative
	// virtual addresses).
	Start, End uint64
}

// loadedLen is how many bytes of memory loading s writes: VirtualSize, or
// SizeOfRawData when VirtualSize is 0 (EDK2 PeCoffLoaderLoadImage copies
// the raw data then).
func loadedLen(s SectionHeader) uint32 {
	if s.VirtualSize == 0 {
		return s.SizeOfRawData
	}
	return s.VirtualSize
}

// memoryOverlaps lists the pairs of sections whose memory ranges overlap,
// at most MaxMemoryOverlaps of them. UEFI firmware loads such images (it
// checks no overlap), and so does ukiboot: what each section holds after
// loading is what [Section.Open] returns.
func memoryOverlaps(secs []SectionHeader) ([]Overlap, error) {
	var spans []span
	for i, s := range secs {
		if n := loadedLen(s); n > 0 {
			spans = append(spans, span{uint64(s.VirtualAddress), uint64(s.VirtualAddress) + uint64(n), i})
		}
	}
	sort.SliceStable(spans, func(a, b int) bool { return spans[a].start < spans[b].start })
	var out []Overlap
	var active []span // spans that started before the current one and have not ended
	for _, cur := range spans {
		kept := active[:0]
		for _, a := range active {
			if a.end > cur.start {
				kept = append(kept, a)
			}
		}
		active = kept
		for _, a := range active {
			if len(out) == MaxMemoryOverlaps {
				return nil, errorf(ErrSectionOverlap, "memory ranges of more than %d pairs of sections overlap (sections %d (%s) and %d (%s), ...)",
					MaxMemoryOverlaps, a.idx, secs[a.idx].Name, cur.idx, secs[cur.idx].Name)
			}
			o := Overlap{Earlier: min(a.idx, cur.idx), Later: max(a.idx, cur.idx), Start: cur.start, End: min(a.end, cur.end)}
			out = append(out, o)
		}
		active = append(active, cur)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Earlier != out[b].Earlier {
			return out[a].Earlier < out[b].Earlier
		}
		return out[a].Later < out[b].Later
	})
	return out, nil
}
