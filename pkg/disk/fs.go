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
