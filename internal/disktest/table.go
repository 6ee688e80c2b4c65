// Package disktest builds disk images for tests: GPT and MBR partition
// tables written in pure Go, FAT and ext4 file systems made from a host
// directory with dosfstools, mtools and e2fsprogs (no root needed), and
// helpers that read files back out of a FAT partition of an image after a
// VM has used it.
//
// The table writers are independent of pkg/disk so that its parser is
// tested against code it does not share.
package disktest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"unicode/utf16"
)

// Partition type GUIDs.
const (
	ESPType       = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	XBOOTLDRType  = "bc13c2ff-59e6-4262-a352-b275fd6f7172"
	LinuxDataType = "0fc63daf-8483-4772-8e79-3d69d8477de4"
)

// MBR partition types.
const (
	MBRESP      = 0xef
	MBRXBOOTLDR = 0xea
	MBRLinux    = 0x83
)

// Align is where partitions start by default: the next multiple of 1 MiB.
const Align = 1 << 20

// Part is one partition to write. The writers return a copy with Start
// and UUID filled in.
type Part struct {
	Type    string // GPT type GUID
	MBRType byte   // MBR partition type
	// UUID is the GPT unique partition GUID; random when empty. For MBR
	// the writers set it to the PARTUUID Linux shows ("1234abcd-01").
	UUID  string
	Name  string // GPT partition name, at most 36 UTF-16 code units
	Start int64  // bytes; 0 means the next free 1 MiB boundary
	Size  int64  // bytes, a multiple of the sector size
	Attrs uint64 // GPT attribute bits
	// Number is the 1-based entry number (output; GPT entries are written
	// in order from entry 1, MBR entries from entry 1).
	Number int
}

// GPT describes a GUID partition table to write.
type GPT struct {
	SectorSize int    // 512 (when 0) or 4096
	DiskGUID   string // random when empty
	Entries    int    // length of the entry array; 128 when 0
	Parts      []Part
}

// Layout is what a writer wrote.
type Layout struct {
	Size       int64  // image size in bytes
	SectorSize int    // logical sector size
	DiskID     string // GPT disk GUID, or MBR signature as 8 hex digits
	Parts      []Part // with Number, Start and UUID set
	// For GPT: the LBAs of the headers and entry arrays, for tests that
	// corrupt them.
	PrimaryLBA, BackupLBA               int64
	PrimaryEntriesLBA, BackupEntriesLBA int64
}

// NewGUID returns a random (version 4) GUID in lower case.
func NewGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// EncodeGUID returns the 16 bytes of a textual GUID in GPT's on-disk
// layout: the first three fields little-endian, the rest as written.
func EncodeGUID(s string) ([16]byte, error) {
	var out [16]byte
	f := strings.Split(s, "-")
	if len(f) != 5 || len(f[0]) != 8 || len(f[1]) != 4 || len(f[2]) != 4 || len(f[3]) != 4 || len(f[4]) != 12 {
		return out, fmt.Errorf("GUID %q: want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)
	}
	b, err := hex.DecodeString(strings.Join(f, ""))
	if err != nil {
		return out, fmt.Errorf("GUID %q: %v", s, err)
	}
	binary.LittleEndian.PutUint32(out[0:], binary.BigEndian.Uint32(b[0:]))
	binary.LittleEndian.PutUint16(out[4:], binary.BigEndian.Uint16(b[4:]))
	binary.LittleEndian.PutUint16(out[6:], binary.BigEndian.Uint16(b[6:]))
	copy(out[8:], b[8:])
	return out, nil
}

// CreateGPT creates (or truncates) a sparse image file of size bytes at
// path and writes g into it.
func CreateGPT(path string, size int64, g GPT) (*Layout, error) {
	return create(path, size, func(f *os.File) (*Layout, error) { return WriteGPT(f, size, g) })
}

// CreateMBR creates (or truncates) a sparse image file of size bytes at
// path and writes an MBR table into it.
func CreateMBR(path string, size int64, signature uint32, parts []Part) (*Layout, error) {
	return create(path, size, func(f *os.File) (*Layout, error) { return WriteMBR(f, size, signature, parts) })
}

func create(path string, size int64, write func(*os.File) (*Layout, error)) (*Layout, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	l, err := write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// place fills in the start of each part (in units of ss) and checks that
// all lie within [first, last] LBAs without overlapping.
func place(parts []Part, ss int64, first, last int64) ([]Part, error) {
	out := make([]Part, len(parts))
	next := first * ss
	var prevEnd int64
	for i, p := range parts {
		if p.Size <= 0 || p.Size%ss != 0 {
			return nil, fmt.Errorf("partition %d: size %d is not a positive multiple of %d", i+1, p.Size, ss)
		}
		if p.Start == 0 {
			p.Start = (next + Align - 1) / Align * Align
		}
		if p.Start%ss != 0 {
			return nil, fmt.Errorf("partition %d: start %d is not a multiple of %d", i+1, p.Start, ss)
		}
		if p.Start < first*ss || p.Start+p.Size > (last+1)*ss {
			return nil, fmt.Errorf("partition %d: [%d, %d) outside the usable area [%d, %d)",
				i+1, p.Start, p.Start+p.Size, first*ss, (last+1)*ss)
		}
		if p.Start < prevEnd {
			return nil, fmt.Errorf("partition %d: starts at %d, before the end of partition %d", i+1, p.Start, i)
		}
		prevEnd = p.Start + p.Size
		next = prevEnd
		p.Number = i + 1
		out[i] = p
	}
	return out, nil
}

// WriteGPT writes a protective MBR and the primary and backup GPT headers
// and entry arrays, with their CRC32s, for a device of size bytes.
// Partitions are written in order as entries 1, 2, ...
func WriteGPT(w io.WriterAt, size int64, g GPT) (*Layout, error) {
	ss := int64(g.SectorSize)
	if ss == 0 {
		ss = 512
	}
	if ss != 512 && ss != 4096 {
		return nil, fmt.Errorf("sector size %d: want 512 or 4096", ss)
	}
	n := g.Entries
	if n == 0 {
		n = 128
	}
	if len(g.Parts) > n {
		return nil, fmt.Errorf("%d partitions do not fit %d entries", len(g.Parts), n)
	}
	if size%ss != 0 {
		return nil, fmt.Errorf("size %d is not a multiple of the sector size %d", size, ss)
	}
	arrayBytes := int64(n) * 128
	arraySectors := (arrayBytes + ss - 1) / ss
	lastLBA := size/ss - 1
	firstUsable := 2 + arraySectors
	lastUsable := lastLBA - arraySectors - 1
	if lastUsable < firstUsable {
		return nil, fmt.Errorf("size %d too small for a GPT", size)
	}
	parts, err := place(g.Parts, ss, firstUsable, lastUsable)
	if err != nil {
		return nil, err
	}
	diskGUID := g.DiskGUID
	if diskGUID == "" {
		diskGUID = NewGUID()
	}
	dg, err := EncodeGUID(diskGUID)
	if err != nil {
		return nil, err
	}

	array := make([]byte, arraySectors*ss)
	for i := range parts {
		p := &parts[i]
		if p.UUID == "" {
			p.UUID = NewGUID()
		}
		p.UUID = strings.ToLower(p.UUID)
		e := array[i*128 : (i+1)*128]
		tg, err := EncodeGUID(p.Type)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", i+1, err)
		}
		ug, err := EncodeGUID(p.UUID)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", i+1, err)
		}
		copy(e[0:], tg[:])
		copy(e[16:], ug[:])
		binary.LittleEndian.PutUint64(e[32:], uint64(p.Start/ss))
		binary.LittleEndian.PutUint64(e[40:], uint64((p.Start+p.Size)/ss-1))
		binary.LittleEndian.PutUint64(e[48:], p.Attrs)
		name := utf16.Encode([]rune(p.Name))
		if len(name) > 36 {
			return nil, fmt.Errorf("partition %d: name %q longer than 36 UTF-16 code units", i+1, p.Name)
		}
		for j, c := range name {
			binary.LittleEndian.PutUint16(e[56+2*j:], c)
		}
	}
	arrayCRC := crc32.ChecksumIEEE(array[:arrayBytes])

	header := func(my, alt, entries int64) []byte {
		h := make([]byte, ss)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], uint64(my))
		binary.LittleEndian.PutUint64(h[32:], uint64(alt))
		binary.LittleEndian.PutUint64(h[40:], uint64(firstUsable))
		binary.LittleEndian.PutUint64(h[48:], uint64(lastUsable))
		copy(h[56:], dg[:])
		binary.LittleEndian.PutUint64(h[72:], uint64(entries))
		binary.LittleEndian.PutUint32(h[80:], uint32(n))
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], arrayCRC)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}

	// Protective MBR: one 0xEE entry covering the disk from LBA 1.
	mbr := make([]byte, ss)
	pe := mbr[446:]
	pe[1], pe[2], pe[3] = 0x00, 0x02, 0x00 // CHS 0/0/2
	pe[4] = 0xee
	pe[5], pe[6], pe[7] = 0xff, 0xff, 0xff
	binary.LittleEndian.PutUint32(pe[8:], 1)
	binary.LittleEndian.PutUint32(pe[12:], uint32(min(lastLBA, 0xffffffff)))
	mbr[510], mbr[511] = 0x55, 0xaa

	backupEntries := lastLBA - arraySectors
	writes := []struct {
		lba  int64
		data []byte
	}{
		{0, mbr},
		{1, header(1, lastLBA, 2)},
		{2, array},
		{backupEntries, array},
		{lastLBA, header(lastLBA, 1, backupEntries)},
	}
	for _, wr := range writes {
		if _, err := w.WriteAt(wr.data, wr.lba*ss); err != nil {
			return nil, err
		}
	}
	return &Layout{
		Size: size, SectorSize: int(ss), DiskID: strings.ToLower(diskGUID), Parts: parts,
		PrimaryLBA: 1, BackupLBA: lastLBA, PrimaryEntriesLBA: 2, BackupEntriesLBA: backupEntries,
	}, nil
}

// WriteMBR writes a classic MBR with up to four primary partitions
// (512-byte sectors) and the given disk signature.
func WriteMBR(w io.WriterAt, size int64, signature uint32, parts []Part) (*Layout, error) {
	const ss = 512
	if len(parts) > 4 {
		return nil, fmt.Errorf("%d partitions: an MBR has 4 entries", len(parts))
	}
	last := min(size/ss-1, 0xffffffff)
	placed, err := place(parts, ss, 1, last)
	if err != nil {
		return nil, err
	}
	mbr := make([]byte, ss)
	binary.LittleEndian.PutUint32(mbr[440:], signature)
	for i := range placed {
		p := &placed[i]
		e := mbr[446+16*i:]
		// CHS fields: "use LBA" values.
		e[1], e[2], e[3] = 0xfe, 0xff, 0xff
		e[4] = p.MBRType
		e[5], e[6], e[7] = 0xfe, 0xff, 0xff
		binary.LittleEndian.PutUint32(e[8:], uint32(p.Start/ss))
		binary.LittleEndian.PutUint32(e[12:], uint32(p.Size/ss))
		p.UUID = fmt.Sprintf("%08x-%02x", signature, i+1)
	}
	mbr[510], mbr[511] = 0x55, 0xaa
	if _, err := w.WriteAt(mbr, 0); err != nil {
		return nil, err
	}
	return &Layout{Size: size, SectorSize: ss, DiskID: fmt.Sprintf("%08x", signature), Parts: placed}, nil
}
