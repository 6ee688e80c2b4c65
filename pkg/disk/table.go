// Package disk finds the EFI System Partitions (ESP) and Extended Boot
// Loader partitions (XBOOTLDR) on the block devices of a machine and mounts
// them read-only, as the Boot Loader Specification describes them.
//
// The package has three parts:
//
//   - [ParseTable] and [ReadTable] read a GPT or MBR partition table, in
//     pure Go, and are safe on hostile input.
//   - [Scanner] walks sysfs to find whole disks, reads their tables and maps
//     partition numbers to device nodes; [Scanner.WaitScan] polls until the
//     partitions wanted have appeared.
//   - [ScanResult.BootDisks] pairs each ESP with the first XBOOTLDR of
//     its own disk, as systemd-boot does; [Mount] mounts a partition
//     read-only, with nosuid, nodev and noexec, in a fresh directory.
//
// Nothing in this package writes to a disk, mounting included (ext4 is
// mounted so that the kernel neither replays its journal nor cleans up
// orphan inodes). [Mounted.RemountRW] exists so that a caller can make a
// deliberate change (boot counting) and then return to read-only with
// [Mounted.RemountRO]; it refuses an ext4 whose journal or orphans were
// left alone.
package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"unicode/utf16"
)

// Kind says what a partition is for the boot loader.
type Kind string

// The kinds of partitions this package looks for.
const (
	ESP      Kind = "esp"      // EFI System Partition
	XBOOTLDR Kind = "xbootldr" // Extended Boot Loader partition
)

// Partition type identifiers of the kinds, in GPT and in MBR tables.
const (
	ESPTypeGUID      = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	XBOOTLDRTypeGUID = "bc13c2ff-59e6-4262-a352-b275fd6f7172"
	MBRTypeESP       = 0xef
	MBRTypeXBOOTLDR  = 0xea
)

// Partition table schemes reported in [Table.Scheme].
const (
	SchemeGPT = "gpt"
	SchemeMBR = "mbr"
)

// Limits applied to what a table may claim, so that hostile input cannot
// make the parser allocate much.
const (
	maxEntryArray = 1 << 20 // bytes of GPT partition entries
	minEntrySize  = 128
	gptHeaderMin  = 92
	mbrSize       = 512
)

// Error is the type of this package's sentinel errors, which are constants.
type Error string

func (e Error) Error() string { return string(e) }

// ErrNoTable is returned (wrapped) when a device has neither a GPT nor an
// MBR partition table, for example a whole-disk file system or an empty
// disk. [Scanner.Scan] skips such devices silently.
const ErrNoTable = Error("no partition table")

// errNoGPT means that no "EFI PART" signature was found where a header
// could be.
const errNoGPT = Error("no GPT signature")

// Partition is one entry of a partition table.
type Partition struct {
	// Number is the 1-based index of the entry, as Linux numbers the
	// partition's device node (sda1, nvme0n1p1).
	Number int
	// Kind is ESP or XBOOTLDR, or empty for any other partition.
	Kind Kind
	// TypeGUID is the GPT partition type GUID in lower case (empty for MBR).
	TypeGUID string
	// MBRType is the MBR partition type byte (0 for GPT).
	MBRType byte
	// PartUUID is the unique partition GUID in lower case as Linux shows it
	// in /dev/disk/by-partuuid; for MBR it is the disk signature and the
	// partition number, "1234abcd-01".
	PartUUID string
	// Start and Size are the partition's offset and length in bytes.
	Start, Size int64
	// Name is the GPT partition name (empty for MBR).
	Name string
	// Disk and Device are the device nodes of the whole disk and of the
	// partition ("/dev/sda", "/dev/sda1"). [Scanner.Scan] fills them in;
	// [ParseTable] leaves them empty.
	Disk, Device string
}

// Table is a parsed partition table.
type Table struct {
	// Scheme is SchemeGPT or SchemeMBR.
	Scheme string
	// SectorSize is the logical sector size the table was found with.
	SectorSize int
	// DiskID is the GPT disk GUID in lower case, or the MBR disk
	// signature as eight hex digits.
	DiskID string
	// Backup is true when the primary GPT header or its entry array was
	// corrupt and the table was read from the backup at the end of the disk.
	Backup bool
	// Partitions holds the used entries in number order.
	Partitions []Partition
}

// Boot returns the ESP and XBOOTLDR partitions of t, in number order.
func (t *Table) Boot() []Partition {
	var out []Partition
	for _, p := range t.Partitions {
		if p.Kind != "" {
			out = append(out, p)
		}
	}
	return out
}

// ReadTable opens the device or image file at path and parses its partition
// table. Errors name the path.
func ReadTable(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	// Stat reports 0 for block devices; seeking to the end works for both.
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("%s: size: %w", path, err)
	}
	t, err := ParseTable(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTable reads the partition table of a device of size bytes.
//
// A GPT is looked for when the MBR has a protective (0xEE) entry or no
// boot signature at all; its sector size, 512 or 4096 bytes, is the one at
// whose LBA 1 a valid header is found. The header and entry array
// checksums are verified, and the backup header at the last LBA is used
// when the primary is damaged. Otherwise the four primary MBR entries are
// read, with 512-byte sectors; extended partitions are not followed.
//
// Entries that are unused, or whose extent is empty or lies outside the
// device, are left out. The error wraps [ErrNoTable] when there is no
// table at all.
func ParseTable(r io.ReaderAt, size int64) (*Table, error) {
	if size < mbrSize {
		return nil, fmt.Errorf("%w: device too small (%d bytes)", ErrNoTable, size)
	}
	mbr := make([]byte, mbrSize)
	if err := readFull(r, mbr, 0); err != nil {
		return nil, fmt.Errorf("reading MBR: %w", err)
	}
	signed := mbr[510] == 0x55 && mbr[511] == 0xaa
	protective := false
	if signed {
		for i := 0; i < 4; i++ {
			if mbr[446+16*i+4] == 0xee {
				protective = true
			}
		}
	}
	if signed && !protective {
		return parseMBR(mbr, size)
	}
	t, err := parseGPT(r, size)
	if errors.Is(err, errNoGPT) {
		if protective {
			return nil, fmt.Errorf("protective MBR but no GPT header found")
		}
		return nil, fmt.Errorf("%w: no MBR boot signature and no GPT header", ErrNoTable)
	}
	return t, err
}

func parseMBR(mbr []byte, size int64) (*Table, error) {
	// A FAT boot sector also ends in 55 AA. Partition entries have a boot
	// indicator of 0 or 0x80; anything else is not a partition table.
	for i := 0; i < 4; i++ {
		if b := mbr[446+16*i]; b != 0 && b != 0x80 {
			return nil, fmt.Errorf("%w: MBR entry %d has boot indicator %#x (a whole-disk file system?)", ErrNoTable, i+1, b)
		}
	}
	sig := binary.LittleEndian.Uint32(mbr[440:])
	t := &Table{Scheme: SchemeMBR, SectorSize: mbrSize, DiskID: fmt.Sprintf("%08x", sig)}
	sectors := uint64(size) / mbrSize
	for i := 0; i < 4; i++ {
		e := mbr[446+16*i : 446+16*(i+1)]
		typ := e[4]
		start := uint64(binary.LittleEndian.Uint32(e[8:]))
		n := uint64(binary.LittleEndian.Uint32(e[12:]))
		if typ == 0 || start == 0 || n == 0 || start+n > sectors {
			continue
		}
		p := Partition{
			Number:   i + 1,
			MBRType:  typ,
			PartUUID: fmt.Sprintf("%08x-%02x", sig, i+1),
			Start:    int64(start * mbrSize),
			Size:     int64(n * mbrSize),
		}
		switch typ {
		case MBRTypeESP:
			p.Kind = ESP
		case MBRTypeXBOOTLDR:
			p.Kind = XBOOTLDR
		}
		t.Partitions = append(t.Partitions, p)
	}
	if len(t.Partitions) == 0 && isFAT(mbr) {
		return nil, fmt.Errorf("%w: whole-disk FAT file system", ErrNoTable)
	}
	return t, nil
}

// gptHeader holds the fields of a GPT header that are used.
type gptHeader struct {
	lba                     uint64
	firstUsable, lastUsable uint64
	diskGUID                string
	entriesLBA              uint64
	numEntries, entrySize   uint32
	entriesCRC              uint32
}

func parseGPT(r io.ReaderAt, size int64) (*Table, error) {
	sizes := []int{512, 4096}
	var problems []string
	found := false
	// Primary header at LBA 1.
	for _, ss := range sizes {
		t, err := readGPT(r, size, ss, 1)
		if err == nil {
			return t, nil
		}
		if errors.Is(err, errNoGPT) {
			continue
		}
		found = true
		problems = append(problems, fmt.Sprintf("primary header (%d-byte sectors): %v", ss, err))
	}
	// Backup header at the last LBA.
	for _, ss := range sizes {
		last := size/int64(ss) - 1
		if last < 2 {
			continue
		}
		t, err := readGPT(r, size, ss, uint64(last))
		if err == nil {
			t.Backup = true
			return t, nil
		}
		if errors.Is(err, errNoGPT) {
			continue
		}
		found = true
		problems = append(problems, fmt.Sprintf("backup header (%d-byte sectors): %v", ss, err))
	}
	if !found {
		return nil, errNoGPT
	}
	return nil, fmt.Errorf("no valid GPT: %s", strings.Join(problems, "; "))
}

// readGPT reads and verifies the header at lba and its entry array.
func readGPT(r io.ReaderAt, size int64, ss int, lba uint64) (*Table, error) {
	h, err := readHeader(r, size, ss, lba)
	if err != nil {
		return nil, err
	}
	lastLBA := uint64(size)/uint64(ss) - 1
	n := uint64(h.numEntries) * uint64(h.entrySize) // bounded by readHeader
	buf := make([]byte, n)
	if err := readFull(r, buf, int64(h.entriesLBA)*int64(ss)); err != nil {
		return nil, fmt.Errorf("reading partition entries at LBA %d: %w", h.entriesLBA, err)
	}
	if c := crc32.ChecksumIEEE(buf); c != h.entriesCRC {
		return nil, fmt.Errorf("partition entry array CRC32 %#08x, header says %#08x", c, h.entriesCRC)
	}
	t := &Table{Scheme: SchemeGPT, SectorSize: ss, DiskID: h.diskGUID}
	var zero [16]byte
	for i := uint64(0); i < uint64(h.numEntries); i++ {
		e := buf[i*uint64(h.entrySize):][:minEntrySize]
		if bytes.Equal(e[:16], zero[:]) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		if first == 0 || first > last || last > lastLBA {
			continue
		}
		p := Partition{
			Number:   int(i) + 1,
			TypeGUID: guidString(e[0:16]),
			PartUUID: guidString(e[16:32]),
			Start:    int64(first) * int64(ss),
			Size:     int64(last-first+1) * int64(ss),
			Name:     utf16Name(e[56:128]),
		}
		switch p.TypeGUID {
		case ESPTypeGUID:
			p.Kind = ESP
		case XBOOTLDRTypeGUID:
			p.Kind = XBOOTLDR
		}
		t.Partitions = append(t.Partitions, p)
	}
	return t, nil
}

// readHeader reads the GPT header at lba and checks everything that can be
// checked without the entry array. It returns errNoGPT when the signature
// is missing.
func readHeader(r io.ReaderAt, size int64, ss int, lba uint64) (*gptHeader, error) {
	sectors := uint64(size) / uint64(ss)
	if lba >= sectors {
		return nil, errNoGPT
	}
	b := make([]byte, ss)
	if err := readFull(r, b, int64(lba)*int64(ss)); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errNoGPT
		}
		return nil, fmt.Errorf("reading LBA %d: %w", lba, err)
	}
	if string(b[:8]) != "EFI PART" {
		return nil, errNoGPT
	}
	hsize := binary.LittleEndian.Uint32(b[12:])
	if hsize < gptHeaderMin || hsize > uint32(ss) {
		return nil, fmt.Errorf("header size %d out of range", hsize)
	}
	stored := binary.LittleEndian.Uint32(b[16:])
	hdr := append([]byte(nil), b[:hsize]...)
	binary.LittleEndian.PutUint32(hdr[16:], 0)
	if c := crc32.ChecksumIEEE(hdr); c != stored {
		return nil, fmt.Errorf("header CRC32 %#08x, header says %#08x", c, stored)
	}
	h := &gptHeader{
		lba:         binary.LittleEndian.Uint64(b[24:]),
		firstUsable: binary.LittleEndian.Uint64(b[40:]),
		lastUsable:  binary.LittleEndian.Uint64(b[48:]),
		diskGUID:    guidString(b[56:72]),
		entriesLBA:  binary.LittleEndian.Uint64(b[72:]),
		numEntries:  binary.LittleEndian.Uint32(b[80:]),
		entrySize:   binary.LittleEndian.Uint32(b[84:]),
		entriesCRC:  binary.LittleEndian.Uint32(b[88:]),
	}
	lastLBA := sectors - 1
	switch {
	case h.lba != lba:
		return nil, fmt.Errorf("header says it is at LBA %d, found at LBA %d", h.lba, lba)
	case h.firstUsable > h.lastUsable:
		return nil, fmt.Errorf("first usable LBA %d after last usable LBA %d", h.firstUsable, h.lastUsable)
	case h.lastUsable > lastLBA:
		return nil, fmt.Errorf("last usable LBA %d beyond the device's last LBA %d", h.lastUsable, lastLBA)
	case h.entrySize < minEntrySize || h.entrySize%8 != 0:
		return nil, fmt.Errorf("partition entry size %d invalid", h.entrySize)
	case uint64(h.numEntries)*uint64(h.entrySize) > maxEntryArray:
		return nil, fmt.Errorf("partition entry array of %d entries of %d bytes exceeds %d bytes",
			h.numEntries, h.entrySize, maxEntryArray)
	}
	n := uint64(h.numEntries) * uint64(h.entrySize)
	arraySectors := (n + uint64(ss) - 1) / uint64(ss)
	switch {
	case h.entriesLBA < 1 || h.entriesLBA > lastLBA || arraySectors > lastLBA-h.entriesLBA+1:
		return nil, fmt.Errorf("partition entry array at LBA %d (%d sectors) outside the device (last LBA %d)",
			h.entriesLBA, arraySectors, lastLBA)
	case arraySectors > 0 && h.entriesLBA <= lba && lba < h.entriesLBA+arraySectors:
		return nil, fmt.Errorf("partition entry array at LBA %d overlaps the header", h.entriesLBA)
	}
	return h, nil
}

// guidString formats a GUID stored in GPT's mixed-endian layout: the first
// three fields little-endian, the last two as bytes.
func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

// utf16Name decodes a NUL-terminated UTF-16LE partition name.
func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// readFull reads len(b) bytes at off, turning a short read into
// io.ErrUnexpectedEOF.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
