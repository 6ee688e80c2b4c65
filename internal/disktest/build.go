package disktest

import (
	"fmt"
	"path/filepath"
	"testing"
)

// Kinds of partitions for PartSpec.Kind.
const (
	KindESP      = "esp"
	KindXBOOTLDR = "xbootldr"
	KindLinux    = "linux" // a Linux data partition, which boot loaders ignore
)

// File systems for PartSpec.FS.
const (
	FSVFAT = "vfat"
	FSExt4 = "ext4"
	FSNone = "none" // leave the partition as zeros
)

// PartSpec describes a partition for BuildDisk.
type PartSpec struct {
	Kind string // KindESP, KindXBOOTLDR or KindLinux
	// Type overrides the GPT type GUID that Kind implies.
	Type string
	// FS is FSVFAT (the default), FSExt4 or FSNone.
	FS string
	// Dir is the tree copied into the new file system; empty: nothing.
	Dir string
	// SizeMiB is the partition size; 64 (FAT32) when 0.
	SizeMiB int
	// Name is the GPT partition name; the kind when empty.
	Name string
	// Label is the file system label.
	Label string
	// UUID fixes the unique partition GUID (PARTUUID) of a GPT partition.
	UUID string
}

// Disk is an image built by BuildDisk.
type Disk struct {
	Path string
	*Layout
}

// Offset returns the byte offset of partition number n (1-based).
func (d *Disk) Offset(n int) int64 {
	for _, p := range d.Parts {
		if p.Number == n {
			return p.Start
		}
	}
	panic(fmt.Sprintf("disktest: %s has no partition %d", d.Path, n))
}

// ReadFile reads a file from the FAT file system of partition n; see
// ReadFATFile.
func (d *Disk) ReadFile(t testing.TB, n int, name string) ([]byte, error) {
	t.Helper()
	return ReadFATFile(t, d.Path, d.Offset(n), name)
}

// ListDir lists a directory of the FAT file system of partition n; see
// ListFATDir.
func (d *Disk) ListDir(t testing.TB, n int, dir string) ([]string, error) {
	t.Helper()
	return ListFATDir(t, d.Path, d.Offset(n), dir)
}

// BuildDisk writes a GPT disk image at path with one partition per spec,
// in order (partition 1 is specs[0]), each 1 MiB aligned, with 1 MiB to
// spare at either end, and copies the file systems made from the specs'
// trees into them. Missing tools skip or fail the test as ukitest.Need
// does.
func BuildDisk(t testing.TB, path string, specs []PartSpec) *Disk {
	t.Helper()
	return build(t, path, specs, false)
}

// BuildMBRDisk is BuildDisk with an MBR partition table (types 0xEF, 0xEA
// and 0x83) and a fixed disk signature; PartSpec.Type, Name and UUID are
// ignored.
func BuildMBRDisk(t testing.TB, path string, specs []PartSpec) *Disk {
	t.Helper()
	return build(t, path, specs, true)
}

// MBRSignature is the disk signature BuildMBRDisk writes.
const MBRSignature = 0x0badf00d

func build(t testing.TB, path string, specs []PartSpec, mbr bool) *Disk {
	t.Helper()
	parts := make([]Part, len(specs))
	size := int64(2 * Align)
	for i, s := range specs {
		mib := s.SizeMiB
		if mib == 0 {
			mib = 64
		}
		p := Part{Size: int64(mib) << 20, UUID: s.UUID, Name: s.Name}
		switch s.Kind {
		case KindESP:
			p.Type, p.MBRType = ESPType, MBRESP
		case KindXBOOTLDR:
			p.Type, p.MBRType = XBOOTLDRType, MBRXBOOTLDR
		case KindLinux:
			p.Type, p.MBRType = LinuxDataType, MBRLinux
		default:
			if s.Type == "" {
				t.Fatalf("BuildDisk: partition %d: unknown kind %q and no type", i+1, s.Kind)
			}
		}
		if s.Type != "" {
			p.Type = s.Type
		}
		if p.Name == "" {
			p.Name = s.Kind
		}
		if mbr {
			p.Name, p.UUID = "", ""
		}
		parts[i] = p
		size += p.Size
	}
	var l *Layout
	var err error
	if mbr {
		l, err = CreateMBR(path, size, MBRSignature, parts)
	} else {
		l, err = CreateGPT(path, size, GPT{Parts: parts})
	}
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for i, s := range specs {
		p := l.Parts[i]
		img := filepath.Join(tmp, fmt.Sprintf("part%d.img", i+1))
		switch s.FS {
		case "", FSVFAT:
			MakeFAT(t, img, p.Size, s.Dir, s.Label)
		case FSExt4:
			MakeExt4(t, img, p.Size, s.Dir, s.Label)
		case FSNone:
			continue
		default:
			t.Fatalf("BuildDisk: partition %d: unknown file system %q", i+1, s.FS)
		}
		if err := CopyInto(path, p.Start, p.Size, img); err != nil {
			t.Fatal(err)
		}
	}
	return &Disk{Path: path, Layout: l}
}
