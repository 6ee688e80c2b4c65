package disktest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

func TestEncodeGUID(t *testing.T) {
	// The ESP type GUID as it appears on disk (UEFI spec, table 5.x).
	want := []byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}
	got, err := EncodeGUID(ESPType)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:], want) {
		t.Errorf("EncodeGUID(ESP) = % x, want % x", got, want)
	}
	upper, err := EncodeGUID(strings.ToUpper(ESPType))
	if err != nil || upper != got {
		t.Errorf("upper case: %x, %v", upper, err)
	}
	for _, bad := range []string{"", "c12a7328f81f11d2ba4b00a0c93ec93b", "c12a7328-f81f-11d2-ba4b-00a0c93ec93", "g12a7328-f81f-11d2-ba4b-00a0c93ec93b"} {
		if _, err := EncodeGUID(bad); err == nil {
			t.Errorf("EncodeGUID(%q) succeeded", bad)
		}
	}
	g := NewGUID()
	if len(g) != 36 || g[14] != '4' || !strings.ContainsRune("89ab", rune(g[19])) {
		t.Errorf("NewGUID() = %q, not a version 4 GUID", g)
	}
	if NewGUID() == g {
		t.Error("NewGUID repeats")
	}
}

// TestGPTMatchesSfdisk checks the GPT writer against util-linux.
func TestGPTMatchesSfdisk(t *testing.T) {
	img := filepath.Join(t.TempDir(), "gpt.img")
	l, err := CreateGPT(img, 40<<20, GPT{
		DiskGUID: "01234567-89AB-CDEF-0123-456789ABCDEF",
		Parts: []Part{
			{Type: ESPType, Name: "EFI System", Size: 8 << 20, UUID: "11111111-2222-3333-4444-555555555555"},
			{Type: LinuxDataType, Name: "root", Size: 4 << 20},
			{Type: XBOOTLDRType, Name: "Linux extended boot ü", Size: 6 << 20, Start: 20 << 20, Attrs: 1 << 60},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := Sfdisk(t, img).PartitionTable
	if st.Label != "gpt" || st.SectorSize != 512 || strings.ToLower(st.ID) != l.DiskID {
		t.Errorf("sfdisk: label %q sector size %d id %q; wrote id %q", st.Label, st.SectorSize, st.ID, l.DiskID)
	}
	if l.DiskID != "01234567-89ab-cdef-0123-456789abcdef" {
		t.Errorf("disk GUID %q not lower-cased", l.DiskID)
	}
	if len(st.Partitions) != 3 {
		t.Fatalf("sfdisk sees %d partitions, want 3", len(st.Partitions))
	}
	wantStarts := []int64{1 << 20, 9 << 20, 20 << 20}
	for i, p := range l.Parts {
		sp := st.Partitions[i]
		if p.Start != wantStarts[i] || p.Number != i+1 {
			t.Errorf("part %d: start %d number %d, want start %d", i, p.Start, p.Number, wantStarts[i])
		}
		if sp.Start*512 != p.Start || sp.Size*512 != p.Size {
			t.Errorf("part %d: sfdisk [%d +%d] sectors, wrote [%d +%d] bytes", i, sp.Start, sp.Size, p.Start, p.Size)
		}
		if strings.ToLower(sp.Type) != p.Type || strings.ToLower(sp.UUID) != p.UUID || sp.Name != p.Name {
			t.Errorf("part %d: sfdisk %s %s %q, wrote %s %s %q", i, sp.Type, sp.UUID, sp.Name, p.Type, p.UUID, p.Name)
		}
	}
	if l.Parts[0].UUID != "11111111-2222-3333-4444-555555555555" {
		t.Errorf("fixed UUID changed to %q", l.Parts[0].UUID)
	}
	if st.Partitions[2].Attrs != "GUID:60" {
		t.Errorf("attrs %q, want GUID:60", st.Partitions[2].Attrs)
	}
	SgdiskVerify(t, img)

	// The image is sparse: the 40 MiB are mostly holes.
	var sys syscall.Stat_t
	if err := syscall.Stat(img, &sys); err != nil {
		t.Fatal(err)
	}
	if sys.Blocks*512 > 1<<20 {
		t.Errorf("image uses %d bytes on disk, want it sparse", sys.Blocks*512)
	}
}

func TestGPT4K(t *testing.T) {
	img := filepath.Join(t.TempDir(), "gpt4k.img")
	l, err := CreateGPT(img, 64<<20, GPT{SectorSize: 4096, Parts: []Part{
		{Type: ESPType, Name: "esp", Size: 16 << 20},
		{Type: XBOOTLDRType, Name: "xbootldr", Size: 8 << 20},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// 128 entries of 128 bytes are 4 sectors of 4096 bytes.
	if l.BackupLBA != 64<<20/4096-1 || l.BackupEntriesLBA != l.BackupLBA-4 {
		t.Errorf("backup at LBA %d, entries at %d", l.BackupLBA, l.BackupEntriesLBA)
	}
	rows := Fdisk4K(t, img)
	if len(rows) != 2 {
		t.Fatalf("fdisk sees %d partitions, want 2: %+v", len(rows), rows)
	}
	for i, r := range rows {
		p := l.Parts[i]
		if r.Start*4096 != p.Start || r.Sectors*4096 != p.Size || r.Type != p.Type || r.UUID != p.UUID || r.Name != p.Name {
			t.Errorf("part %d: fdisk %+v, wrote %+v", i, r, p)
		}
	}
}

func TestMBRMatchesSfdisk(t *testing.T) {
	img := filepath.Join(t.TempDir(), "mbr.img")
	l, err := CreateMBR(img, 20<<20, 0xdeadbeef, []Part{
		{MBRType: MBRESP, Size: 8 << 20},
		{MBRType: MBRXBOOTLDR, Size: 4 << 20, Start: 12 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := Sfdisk(t, img).PartitionTable
	if st.Label != "dos" || st.ID != "0xdeadbeef" || l.DiskID != "deadbeef" {
		t.Errorf("sfdisk label %q id %q; wrote %q", st.Label, st.ID, l.DiskID)
	}
	if len(st.Partitions) != 2 {
		t.Fatalf("sfdisk sees %d partitions", len(st.Partitions))
	}
	for i, want := range []struct {
		typ, uuid   string
		start, size int64
	}{{"ef", "deadbeef-01", 1 << 20, 8 << 20}, {"ea", "deadbeef-02", 12 << 20, 4 << 20}} {
		sp, p := st.Partitions[i], l.Parts[i]
		if sp.Type != want.typ || sp.Start*512 != want.start || sp.Size*512 != want.size ||
			p.Start != want.start || p.UUID != want.uuid {
			t.Errorf("part %d: sfdisk %+v, wrote %+v, want %+v", i, sp, p, want)
		}
	}
}

func TestWriterRejects(t *testing.T) {
	for name, g := range map[string]GPT{
		"sector size":    {SectorSize: 1024},
		"unaligned size": {Parts: []Part{{Type: ESPType, Size: 1000}}},
		"overlap":        {Parts: []Part{{Type: ESPType, Size: 2 << 20}, {Type: ESPType, Start: 2 << 20, Size: 1 << 20}}},
		"too big":        {Parts: []Part{{Type: ESPType, Size: 8 << 20}}},
		"bad type":       {Parts: []Part{{Type: "esp", Size: 1 << 20}}},
		"long name":      {Parts: []Part{{Type: ESPType, Size: 1 << 20, Name: strings.Repeat("x", 37)}}},
		"too many":       {Entries: 1, Parts: []Part{{Type: ESPType, Size: 1 << 20}, {Type: ESPType, Size: 1 << 20}}},
	} {
		if _, err := WriteGPT(discard{}, 8<<20, g); err == nil {
			t.Errorf("%s: WriteGPT succeeded", name)
		}
	}
	if _, err := WriteMBR(discard{}, 8<<20, 1, make([]Part, 5)); err == nil {
		t.Error("WriteMBR with 5 partitions succeeded")
	}
}

type discard struct{}

func (discard) WriteAt(b []byte, off int64) (int, error) { return len(b), nil }

func TestCopyInto(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.WriteFile(disk, bytes.Repeat([]byte{0xaa}, 300000), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "img")
	data := make([]byte, 200000) // zeros with some data in the middle
	copy(data[70000:], "hello")
	if err := os.WriteFile(img, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyInto(disk, 1000, 0, img); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{0xaa}, 300000)
	copy(want[1000:], data) // zero blocks over non-zero data are written
	if !bytes.Equal(got, want) {
		t.Error("CopyInto over non-zero data: contents differ")
	}
	if err := CopyInto(disk, 0, 100, img); err == nil {
		t.Error("CopyInto beyond the limit succeeded")
	}

	// Into a sparse disk, zero blocks stay holes.
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 64<<20); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	bigData := make([]byte, 32<<20)
	copy(bigData[16<<20:], "in the middle")
	if err := os.WriteFile(big, bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CopyInto(sparse, 1<<20, 0, big); err != nil {
		t.Fatal(err)
	}
	var sys syscall.Stat_t
	if err := syscall.Stat(sparse, &sys); err != nil {
		t.Fatal(err)
	}
	if sys.Blocks*512 > 1<<20 {
		t.Errorf("sparse disk uses %d bytes after copy", sys.Blocks*512)
	}
	f, err := os.Open(sparse)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 13)
	if _, err := f.ReadAt(buf, 17<<20); err != nil || string(buf) != "in the middle" {
		t.Errorf("read back %q, %v", buf, err)
	}
}

// writeTree creates files (path -> contents) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// extract copies length bytes at off of img into a new file.
func extract(t *testing.T, img string, off, length int64) string {
	t.Helper()
	src, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "part.img")
	dst, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, off, length)); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuildDisk(t *testing.T) {
	esp := writeTree(t, map[string]string{
		"loader/loader.conf":                  "timeout 3\ndefault fedora*\n",
		"loader/entries/fedora-6.1.conf":      "title Fedora\nlinux /vmlinuz\n",
		"EFI/Linux/fedora-6.1.0+3-1.efi":      "MZ not really a UKI",
		"EFI/BOOT/BOOTX64.EFI":                "MZ",
		"Long File Name With Spaces.txt":      "lfn",
		"loader/entries/deep/er/still.conf":   "deep",
		"loader/entries/UPPER-and-lower.conf": "case",
	})
	xbl := writeTree(t, map[string]string{
		"loader/entries/debian.conf": "title Debian\n",
		"EFI/Linux/debian.efi":       "MZ debian",
	})
	img := filepath.Join(t.TempDir(), "disk.img")
	d := BuildDisk(t, img, []PartSpec{
		{Kind: KindESP, Dir: esp, Label: "ESP", UUID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
		{Kind: KindLinux, FS: FSNone, SizeMiB: 2},
		{Kind: KindXBOOTLDR, Dir: xbl, FS: FSExt4, SizeMiB: 16},
		{Kind: KindESP, SizeMiB: 8, Name: "small esp"},
	})
	st := Sfdisk(t, img).PartitionTable
	if len(st.Partitions) != 4 {
		t.Fatalf("sfdisk sees %d partitions", len(st.Partitions))
	}
	wantTypes := []string{ESPType, LinuxDataType, XBOOTLDRType, ESPType}
	wantNames := []string{"esp", "linux", "xbootldr", "small esp"}
	for i, sp := range st.Partitions {
		if strings.ToLower(sp.Type) != wantTypes[i] || sp.Name != wantNames[i] || sp.Start*512 != d.Offset(i+1) {
			t.Errorf("partition %d: %+v", i+1, sp)
		}
	}
	if d.Parts[0].UUID != "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" || d.Parts[0].Size != 64<<20 {
		t.Errorf("partition 1: %+v", d.Parts[0])
	}
	SgdiskVerify(t, img)

	// Every file of the ESP tree reads back through mtools.
	err := filepath.WalkDir(esp, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(esp, p)
		want, _ := os.ReadFile(p)
		got, err := d.ReadFile(t, 1, "/"+filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: read %q, want %q", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.ListDir(t, 1, "/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"EFI/", "Long File Name With Spaces.txt", "loader/"}; !reflect.DeepEqual(names, want) {
		t.Errorf("root: %q, want %q", names, want)
	}
	names, err = d.ListDir(t, 1, "loader/entries")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"UPPER-and-lower.conf", "deep/", "fedora-6.1.conf"}; !reflect.DeepEqual(names, want) {
		t.Errorf("loader/entries: %q, want %q", names, want)
	}
	if _, err := d.ReadFile(t, 1, "/loader/nothere.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := d.ListDir(t, 1, "/nothere"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	// The small ESP is an empty file system of its own.
	if names, err := d.ListDir(t, 4, "/"); err != nil || len(names) != 0 {
		t.Errorf("empty ESP: %q, %v", names, err)
	}

	// A rename inside the image (as boot counting does) shows in listings.
	mren := ukitest.Need(t, "mren")
	cmd := exec.Command(mren, "-i", img+"@@"+fmt.Sprint(d.Offset(1)), "::/EFI/Linux/fedora-6.1.0+3-1.efi", "::/EFI/Linux/fedora-6.1.0+2-2.efi")
	cmd.Env = append(os.Environ(), mtoolsEnv()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mren: %v\n%s", err, out)
	}
	if names, err := d.ListDir(t, 1, "/EFI/Linux"); err != nil || !reflect.DeepEqual(names, []string{"fedora-6.1.0+2-2.efi"}) {
		t.Errorf("after rename: %q, %v", names, err)
	}

	// File system checkers accept both file systems, and the ext4 tree
	// is there (debugfs reads it without mounting).
	fsck := ukitest.Need(t, "fsck.fat")
	if out, err := exec.Command(fsck, "-n", extract(t, img, d.Offset(1), d.Parts[0].Size)).CombinedOutput(); err != nil {
		t.Errorf("fsck.fat: %v\n%s", err, out)
	}
	ext := extract(t, img, d.Offset(3), d.Parts[2].Size)
	e2fsck := ukitest.Need(t, "e2fsck")
	if out, err := exec.Command(e2fsck, "-fn", ext).CombinedOutput(); err != nil {
		t.Errorf("e2fsck: %v\n%s", err, out)
	}
	debugfs := ukitest.Need(t, "debugfs")
	out, err := exec.Command(debugfs, "-R", "cat /loader/entries/debian.conf", ext).Output()
	if err != nil || string(out) != "title Debian\n" {
		t.Errorf("debugfs cat: %q, %v", out, err)
	}
	// The unformatted partition is still zeros.
	raw := extract(t, img, d.Offset(2), d.Parts[1].Size)
	if b, _ := os.ReadFile(raw); !allZero(b) {
		t.Error("FSNone partition is not zeros")
	}
}

func TestBuildMBRDisk(t *testing.T) {
	img := filepath.Join(t.TempDir(), "mbr.img")
	tree := writeTree(t, map[string]string{"loader/loader.conf": "default x\n"})
	d := BuildMBRDisk(t, img, []PartSpec{
		{Kind: KindESP, Dir: tree, SizeMiB: 16},
		{Kind: KindXBOOTLDR, FS: FSExt4, SizeMiB: 8},
	})
	st := Sfdisk(t, img).PartitionTable
	if st.Label != "dos" || len(st.Partitions) != 2 || st.Partitions[0].Type != "ef" || st.Partitions[1].Type != "ea" {
		t.Fatalf("sfdisk: %+v", st)
	}
	if d.Parts[1].UUID != fmt.Sprintf("%08x-02", MBRSignature) {
		t.Errorf("MBR PARTUUID %q", d.Parts[1].UUID)
	}
	// 16 MiB is below FAT32Min: FAT16 is what mkfs.fat picks.
	b, err := d.ReadFile(t, 1, "loader/loader.conf")
	if err != nil || string(b) != "default x\n" {
		t.Errorf("loader.conf: %q, %v", b, err)
	}
	boot := make([]byte, 512)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(boot, d.Offset(1)); err != nil {
		t.Fatal(err)
	}
	if string(boot[54:59]) != "FAT16" {
		t.Errorf("16 MiB ESP file system type %q, want FAT16", boot[54:62])
	}
}
