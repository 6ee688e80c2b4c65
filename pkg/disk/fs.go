package disk

import (
	"encoding/binary"
	"errors"
	"io"
)

// File system types reported by [DetectFS], as mount(2) names them.
const (
	FSVFAT = "vfat"
	FSExt4 = "ext4"
)

// DetectFS looks at the superblock of a file system and returns FSVFAT for
// a FAT12/16/32 boot sector or FSExt4 for an ext2/3/4 superblock (the ext4
// driver mounts all three). It returns "" with a nil error when neither is
// recognised, and an error only when reading fails.
func DetectFS(r io.ReaderAt) (string, error) {
	b := make([]byte, 2048)
	n, err := r.ReadAt(b, 0)
	if n < len(b) && err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	b = b[:n]
	if isFAT(b) {
		return FSVFAT, nil
	}
	// ext2/3/4: superblock at 1024, s_magic at offset 56 in it.
	if len(b) >= 1082 && binary.LittleEndian.Uint16(b[1080:]) == 0xef53 {
		return FSExt4, nil
	}
	return "", nil
}

// isFAT checks the boot sector's jump instruction, signature and BIOS
// parameter block for values a FAT driver accepts.
func isFAT(b []byte) bool {
	if len(b) < 512 || b[510] != 0x55 || b[511] != 0xaa {
		return false
	}
	if b[0] != 0xeb && b[0] != 0xe9 {
		return false
	}
	bps := binary.LittleEndian.Uint16(b[11:])
	spc := b[13]
	reserved := binary.LittleEndian.Uint16(b[14:])
	fats := b[16]
	media := b[21]
	switch bps {
	case 512, 1024, 2048, 4096:
	default:
		return false
	}
	if spc == 0 || spc&(spc-1) != 0 {
		return false
	}
	return reserved > 0 && fats > 0 && (media == 0xf0 || media >= 0xf8)
}

// ext4State is what the superblock of an ext2/3/4 file system says about
// writes a mount would make.
type ext4State struct {
	// NeedsRecovery: the journal holds transactions not yet written to
	// the file system (INCOMPAT_RECOVER); the kernel replays them when
	// mounting, even read-only, unless given "noload".
	NeedsRecovery bool
	// Orphans: inodes wait to be freed or truncated (s_last_orphan, or
	// RO_COMPAT_ORPHAN_PRESENT); the kernel does that when mounting, even
	// read-only, unless the block device itself is read-only.
	Orphans bool
}

// Offsets in an ext2/3/4 superblock (which starts 1024 bytes into the
// file system) and the feature bits read there.
const (
	ext4SuperOff         = 1024
	ext4IncompatOff      = 0x60
	ext4ROCompatOff      = 0x64
	ext4LastOrphanOff    = 0xe8
	ext4IncompatRecover  = 0x4
	ext4ROCompatOrphanPr = 0x10000
)

// readExt4State reads the superblock of the ext2/3/4 file system r.
func readExt4State(r io.ReaderAt) (ext4State, error) {
	b := make([]byte, ext4LastOrphanOff+4)
	if _, err := r.ReadAt(b, ext4SuperOff); err != nil {
		return ext4State{}, err
	}
	le := binary.LittleEndian
	return ext4State{
		NeedsRecovery: le.Uint32(b[ext4IncompatOff:])&ext4IncompatRecover != 0,
		Orphans:       le.Uint32(b[ext4LastOrphanOff:]) != 0 || le.Uint32(b[ext4ROCompatOff:])&ext4ROCompatOrphanPr != 0,
	}, nil
}
