package disk_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

// parseFile parses the table of an image file.
func parseFile(t *testing.T, img string) (*disk.Table, error) {
	t.Helper()
	return disk.ReadTable(img)
}

func mustParse(t *testing.T, img string) *disk.Table {
	t.Helper()
	tab, err := parseFile(t, img)
	if err != nil {
		t.Fatalf("ReadTable(%s): %v", img, err)
	}
	return tab
}

// compareSfdisk checks a parsed GPT against `sfdisk --json`, which shares
// no code with either the writer or the parser.
func compareSfdisk(t *testing.T, img string, tab *disk.Table) {
	t.Helper()
	st := disktest.Sfdisk(t, img).PartitionTable
	if st.Label != "gpt" && st.Label != "dos" {
		t.Fatalf("sfdisk label %q", st.Label)
	}
	wantScheme := map[string]string{"gpt": disk.SchemeGPT, "dos": disk.SchemeMBR}[st.Label]
	if tab.Scheme != wantScheme {
		t.Errorf("scheme %q, sfdisk says %q", tab.Scheme, st.Label)
	}
	if id := strings.TrimPrefix(strings.ToLower(st.ID), "0x"); id != tab.DiskID {
		t.Errorf("disk id %q, sfdisk says %q", tab.DiskID, st.ID)
	}
	if len(st.Partitions) != len(tab.Partitions) {
		t.Fatalf("%d partitions, sfdisk sees %d", len(tab.Partitions), len(st.Partitions))
	}
	for i, sp := range st.Partitions {
		p := tab.Partitions[i]
		num := 0
		fmt.Sscanf(sp.Node[len(img):], "%d", &num)
		if p.Number != num {
			t.Errorf("partition %d: number %d, sfdisk node %s", i, p.Number, sp.Node)
		}
		if p.Start != sp.Start*512 || p.Size != sp.Size*512 {
			t.Errorf("partition %d: [%d +%d], sfdisk [%d +%d] sectors", p.Number, p.Start, p.Size, sp.Start, sp.Size)
		}
		if st.Label == "gpt" {
			if p.TypeGUID != strings.ToLower(sp.Type) || p.PartUUID != strings.ToLower(sp.UUID) || p.Name != sp.Name {
				t.Errorf("partition %d: %s %s %q, sfdisk %s %s %q", p.Number, p.TypeGUID, p.PartUUID, p.Name, sp.Type, sp.UUID, sp.Name)
			}
		} else if fmt.Sprintf("%x", p.MBRType) != sp.Type {
			t.Errorf("partition %d: type %#x, sfdisk %s", p.Number, p.MBRType, sp.Type)
		}
	}
}

func TestGPTWrittenByDisktest(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	l, err := disktest.CreateGPT(img, 48<<20, disktest.GPT{Parts: []disktest.Part{
		{Type: disktest.LinuxDataType, Size: 4 << 20, Name: "root"},
		{Type: disktest.ESPType, Size: 8 << 20, Name: "EFI System Partition"},
		{Type: disktest.XBOOTLDRType, Size: 8 << 20, Name: "Linux extended boot", Start: 30 << 20},
		{Type: "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", Size: 1 << 20, Name: "swap ☃"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tab := mustParse(t, img)
	compareSfdisk(t, img, tab)
	if tab.Backup || tab.SectorSize != 512 || tab.DiskID != l.DiskID {
		t.Errorf("table %+v", tab)
	}
	boot := tab.Boot()
	if len(boot) != 2 {
		t.Fatalf("Boot() = %+v", boot)
	}
	want := []disk.Partition{
		{Number: 2, Kind: disk.ESP, TypeGUID: disk.ESPTypeGUID, PartUUID: l.Parts[1].UUID, Start: l.Parts[1].Start, Size: 8 << 20, Name: "EFI System Partition"},
		{Number: 3, Kind: disk.XBOOTLDR, TypeGUID: disk.XBOOTLDRTypeGUID, PartUUID: l.Parts[2].UUID, Start: 30 << 20, Size: 8 << 20, Name: "Linux extended boot"},
	}
	for i := range want {
		if boot[i] != want[i] {
			t.Errorf("Boot()[%d] = %+v\nwant %+v", i, boot[i], want[i])
		}
	}
	if tab.Partitions[3].Name != "swap ☃" || tab.Partitions[3].Kind != "" {
		t.Errorf("partition 4: %+v", tab.Partitions[3])
	}
}

// TestGPTWrittenBySfdisk parses tables made by util-linux and by gdisk,
// not by this module.
func TestGPTWrittenBySfdisk(t *testing.T) {
	sfdisk := ukitest.Need(t, "sfdisk")
	img := filepath.Join(t.TempDir(), "sfdisk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	script := `label: gpt
label-id: 6E1B5FE4-3C0F-4A3C-9C1D-0D0B5EAF0001
size=10M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI system", uuid=0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9
size=3M, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
start=30M, size=20M, type=BC13C2FF-59E6-4262-A352-B275FD6F7172, name="XBOOTLDR"
`
	cmd := exec.Command(sfdisk, "-q", img)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	tab := mustParse(t, img)
	compareSfdisk(t, img, tab)
	boot := tab.Boot()
	if len(boot) != 2 || boot[0].Kind != disk.ESP || boot[0].PartUUID != "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" ||
		boot[1].Kind != disk.XBOOTLDR || boot[1].Number != 3 || boot[1].Start != 30<<20 {
		t.Errorf("Boot() = %+v", boot)
	}
	if tab.DiskID != "6e1b5fe4-3c0f-4a3c-9c1d-0d0b5eaf0001" {
		t.Errorf("disk GUID %q", tab.DiskID)
	}

	// gdisk writes its tables its own way (and sorts nothing): entry 5.
	sgdisk := ukitest.Need(t, "sgdisk")
	img2 := filepath.Join(t.TempDir(), "sgdisk.img")
	if err := os.WriteFile(img2, make([]byte, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img2, 32<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sgdisk, "-o", "-n", "5:2048:+8M", "-t", "5:ef00", "-c", "5:ESP five",
		"-n", "2:0:+4M", "-t", "2:ea00", img2).CombinedOutput(); err != nil {
		t.Fatalf("sgdisk: %v\n%s", err, out)
	}
	tab2 := mustParse(t, img2)
	compareSfdisk(t, img2, tab2)
	b2 := tab2.Boot()
	if len(b2) != 2 || b2[0].Number != 2 || b2[0].Kind != disk.XBOOTLDR || b2[1].Number != 5 || b2[1].Name != "ESP five" {
		t.Errorf("sgdisk table: %+v", b2)
	}
}

// corrupt flips one byte of img at off.
func corrupt(t *testing.T, img string, off int64) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// patchHeader changes the GPT header at lba with fix and recomputes its
// CRC, so that only the change itself is wrong.
func patchHeader(t *testing.T, img string, ss, lba int64, fix func(h []byte)) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := make([]byte, ss)
	if _, err := f.ReadAt(h, lba*ss); err != nil {
		t.Fatal(err)
	}
	fix(h)
	size := binary.LittleEndian.Uint32(h[12:])
	if size > uint32(ss) {
		size = 92
	}
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:size]))
	if _, err := f.WriteAt(h, lba*ss); err != nil {
		t.Fatal(err)
	}
}

// smallGPT writes a small GPT image with an ESP and an XBOOTLDR.
func smallGPT(t testing.TB, ss int) (string, *disktest.Layout) {
	t.Helper()
	img := filepath.Join(t.TempDir(), fmt.Sprintf("gpt%d.img", ss))
	l, err := disktest.CreateGPT(img, 16<<20, disktest.GPT{SectorSize: ss, Parts: []disktest.Part{
		{Type: disktest.ESPType, Size: 4 << 20, Name: "esp"},
		{Type: disktest.XBOOTLDRType, Size: 4 << 20, Name: "xbootldr"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return img, l
}

func TestGPTBackup(t *testing.T) {
	for _, ss := range []int{512, 4096} {
		for name, damage := range map[string]func(img string, l *disktest.Layout){
			"header byte": func(img string, l *disktest.Layout) { corrupt(t, img, int64(ss)+40) },
			"signature":   func(img string, l *disktest.Layout) { corrupt(t, img, int64(ss)) },
			"entry array": func(img string, l *disktest.Layout) { corrupt(t, img, 2*int64(ss)+17) },
			"zeroed LBA 1": func(img string, l *disktest.Layout) {
				f, _ := os.OpenFile(img, os.O_RDWR, 0)
				f.WriteAt(make([]byte, ss), int64(ss))
				f.Close()
			},
			"wrong my-LBA": func(img string, l *disktest.Layout) {
				patchHeader(t, img, int64(ss), 1, func(h []byte) { binary.LittleEndian.PutUint64(h[24:], 7) })
			},
		} {
			t.Run(fmt.Sprintf("%d/%s", ss, name), func(t *testing.T) {
				img, l := smallGPT(t, ss)
				damage(img, l)
				tab := mustParse(t, img)
				if !tab.Backup || tab.SectorSize != ss {
					t.Errorf("Backup %v, sector size %d", tab.Backup, tab.SectorSize)
				}
				b := tab.Boot()
				if len(b) != 2 || b[0].PartUUID != l.Parts[0].UUID || b[1].PartUUID != l.Parts[1].UUID ||
					b[1].Start != l.Parts[1].Start || b[1].Size != l.Parts[1].Size {
					t.Errorf("from backup: %+v", b)
				}
			})
		}
	}
}

func TestGPTBothCorrupt(t *testing.T) {
	img, l := smallGPT(t, 512)
	corrupt(t, img, 512+20)
	corrupt(t, img, l.BackupEntriesLBA*512+3) // backup entry array
	_, err := parseFile(t, img)
	if err == nil {
		t.Fatal("parsed a GPT with both copies corrupt")
	}
	msg := err.Error()
	for _, want := range []string{img, "primary header", "header CRC32", "backup header", "entry array CRC32"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if errors.Is(err, disk.ErrNoTable) {
		t.Error("a broken GPT is reported as no table")
	}

	// Signatures gone from both: the protective MBR still says GPT.
	img, l = smallGPT(t, 512)
	corrupt(t, img, 512)
	corrupt(t, img, l.BackupLBA*512)
	if _, err := parseFile(t, img); err == nil || errors.Is(err, disk.ErrNoTable) || !strings.Contains(err.Error(), "protective MBR") {
		t.Errorf("no GPT signatures: %v", err)
	}
}

func TestGPTHostileHeaders(t *testing.T) {
	const ss = 512
	cases := map[string]struct {
		fix  func(h []byte)
		want string
	}{
		"huge entry count": {func(h []byte) { binary.LittleEndian.PutUint32(h[80:], 0xffffffff) }, "exceeds"},
		"huge entry size":  {func(h []byte) { binary.LittleEndian.PutUint32(h[84:], 0x80000000) }, "exceeds"},
		"just over 1 MiB":  {func(h []byte) { binary.LittleEndian.PutUint32(h[80:], 8193) }, "exceeds"},
		"entry size 0":     {func(h []byte) { binary.LittleEndian.PutUint32(h[84:], 0) }, "entry size"},
		"entry size 127":   {func(h []byte) { binary.LittleEndian.PutUint32(h[84:], 127) }, "entry size"},
		"entry size 130":   {func(h []byte) { binary.LittleEndian.PutUint32(h[84:], 130) }, "entry size"},
		"header size 91":   {func(h []byte) { binary.LittleEndian.PutUint32(h[12:], 91) }, "header size"},
		"header size 513":  {func(h []byte) { binary.LittleEndian.PutUint32(h[12:], 513) }, "header size"},
		"entries past end": {func(h []byte) { binary.LittleEndian.PutUint64(h[72:], 1<<62) }, "outside the device"},
		"entries at end":   {func(h []byte) { binary.LittleEndian.PutUint64(h[72:], 16<<20/ss-1) }, "outside the device"},
		"entries on hdr":   {func(h []byte) { binary.LittleEndian.PutUint64(h[72:], 1) }, "overlaps"},
		"last usable":      {func(h []byte) { binary.LittleEndian.PutUint64(h[48:], 1<<40) }, "last usable"},
		"first > last":     {func(h []byte) { binary.LittleEndian.PutUint64(h[40:], 1<<20) }, "first usable"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			img, l := smallGPT(t, ss)
			patchHeader(t, img, ss, 1, c.fix)
			// With a good backup the table is still read, from there.
			tab := mustParse(t, img)
			if !tab.Backup || len(tab.Boot()) != 2 {
				t.Errorf("with backup: %+v", tab)
			}
			// With the same damage in the backup, the reason is given.
			patchHeader(t, img, ss, l.BackupLBA, c.fix)
			_, err := parseFile(t, img)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestGPTEntries(t *testing.T) {
	// Entry sizes above 128 are allowed; entries outside the device or
	// reversed are left out; unused ones are skipped.
	img := filepath.Join(t.TempDir(), "e.img")
	_, err := disktest.CreateGPT(img, 8<<20, disktest.GPT{Entries: 8, Parts: []disktest.Part{
		{Type: disktest.ESPType, Size: 1 << 20},
		{Type: disktest.ESPType, Size: 1 << 20},
		{Type: disktest.XBOOTLDRType, Size: 1 << 20},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	arr := make([]byte, 1024)
	if _, err := f.ReadAt(arr, 2*512); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(arr[128+40:], 1<<40) // entry 2 ends past the disk
	binary.LittleEndian.PutUint64(arr[256+32:], 1<<20) // entry 3 starts after its end
	if _, err := f.WriteAt(arr, 2*512); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Give the primary header the new array's CRC, so it stays valid.
	patchHeader(t, img, 512, 1, func(h []byte) { binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(arr)) })
	tab := mustParse(t, img)
	if tab.Backup || len(tab.Partitions) != 1 || tab.Partitions[0].Number != 1 {
		t.Errorf("partitions %+v", tab.Partitions)
	}

	// An entry array of 4 entries of 256 bytes.
	arr2 := make([]byte, 1024)
	for i := 0; i < 4; i++ {
		copy(arr2[i*256:], arr[:128]) // all copies of entry 1
	}
	copy(arr2[3*256+56:], []byte{'Z', 0}) // name of entry 4
	f, _ = os.OpenFile(img, os.O_RDWR, 0)
	f.WriteAt(arr2, 2*512)
	f.Close()
	patchHeader(t, img, 512, 1, func(h []byte) {
		binary.LittleEndian.PutUint32(h[80:], 4)
		binary.LittleEndian.PutUint32(h[84:], 256)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(arr2))
	})
	tab = mustParse(t, img)
	if len(tab.Partitions) != 4 || tab.Partitions[3].Number != 4 || tab.Partitions[3].Name != "Z" || tab.Partitions[3].Kind != disk.ESP {
		t.Errorf("256-byte entries: %+v", tab.Partitions)
	}
}

func TestGPT4K(t *testing.T) {
	img, l := smallGPT(t, 4096)
	tab := mustParse(t, img)
	if tab.SectorSize != 4096 || tab.Backup {
		t.Errorf("sector size %d backup %v", tab.SectorSize, tab.Backup)
	}
	rows := disktest.Fdisk4K(t, img)
	b := tab.Boot()
	if len(b) != 2 || len(rows) != 2 {
		t.Fatalf("parsed %+v, fdisk %+v", b, rows)
	}
	for i, r := range rows {
		if b[i].Start != r.Start*4096 || b[i].Size != r.Sectors*4096 || b[i].TypeGUID != r.Type || b[i].PartUUID != r.UUID || b[i].Name != r.Name {
			t.Errorf("partition %d: %+v, fdisk %+v", i+1, b[i], r)
		}
		if b[i].PartUUID != l.Parts[i].UUID {
			t.Errorf("partition %d: PARTUUID %s, wrote %s", i+1, b[i].PartUUID, l.Parts[i].UUID)
		}
	}
	// 512-byte sector parsing would have found nothing at LBA 1.
	if string(readAt(t, img, 512, 8)) == "EFI PART" {
		t.Error("4K image has a header at byte 512")
	}
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMBR(t *testing.T) {
	img := filepath.Join(t.TempDir(), "mbr.img")
	if _, err := disktest.CreateMBR(img, 32<<20, 0x1234abcd, []disktest.Part{
		{MBRType: 0x83, Size: 4 << 20},
		{MBRType: disktest.MBRXBOOTLDR, Size: 8 << 20},
		{MBRType: disktest.MBRESP, Size: 8 << 20},
		{MBRType: 0x05, Size: 2 << 20}, // extended: listed, not followed
	}); err != nil {
		t.Fatal(err)
	}
	tab := mustParse(t, img)
	compareSfdisk(t, img, tab)
	if tab.Scheme != disk.SchemeMBR || tab.DiskID != "1234abcd" || len(tab.Partitions) != 4 {
		t.Fatalf("table %+v", tab)
	}
	b := tab.Boot()
	want := []disk.Partition{
		{Number: 2, Kind: disk.XBOOTLDR, MBRType: 0xea, PartUUID: "1234abcd-02", Start: 5 << 20, Size: 8 << 20},
		{Number: 3, Kind: disk.ESP, MBRType: 0xef, PartUUID: "1234abcd-03", Start: 13 << 20, Size: 8 << 20},
	}
	if len(b) != 2 || b[0] != want[0] || b[1] != want[1] {
		t.Errorf("Boot() = %+v\nwant %+v", b, want)
	}

	// Entries past the end of the device are left out.
	f, _ := os.OpenFile(img, os.O_RDWR, 0)
	e := make([]byte, 4)
	binary.LittleEndian.PutUint32(e, 1<<30)
	f.WriteAt(e, 446+16*2+12) // entry 3 now has 2^30 sectors
	f.Close()
	if b := mustParse(t, img).Boot(); len(b) != 1 || b[0].Number != 2 {
		t.Errorf("after growing entry 3 past the end: %+v", b)
	}
}

func TestNoTable(t *testing.T) {
	dir := t.TempDir()
	zeros := filepath.Join(dir, "zeros")
	os.WriteFile(zeros, make([]byte, 1<<20), 0o644)
	fat := filepath.Join(dir, "fat")
	disktest.MakeFAT(t, fat, 40<<20, "", "WHOLE")
	fat16 := filepath.Join(dir, "fat16")
	disktest.MakeFAT(t, fat16, 8<<20, "", "")
	ext := filepath.Join(dir, "ext4")
	disktest.MakeExt4(t, ext, 8<<20, "", "")
	tiny := filepath.Join(dir, "tiny")
	os.WriteFile(tiny, []byte("short"), 0o644)
	for _, img := range []string{zeros, fat, fat16, ext, tiny} {
		_, err := parseFile(t, img)
		if !errors.Is(err, disk.ErrNoTable) || !strings.Contains(err.Error(), img) {
			t.Errorf("%s: %v, want ErrNoTable naming the file", filepath.Base(img), err)
		}
	}
	if _, err := disk.ReadTable(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

func TestTruncated(t *testing.T) {
	img, _ := smallGPT(t, 512)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{513, 1024, 1100, 2048, 33 * 512} {
		// The device claims 16 MiB but only n bytes can be read.
		_, err := disk.ParseTable(bytes.NewReader(data[:n]), int64(len(data)))
		if err == nil {
			t.Errorf("%d of %d bytes: parsed", n, len(data))
		}
	}
	// An image cut short has lost its backup, and its primary header
	// describes a larger disk.
	_, err = disk.ParseTable(bytes.NewReader(data[:1<<20]), 1<<20)
	if err == nil || !strings.Contains(err.Error(), "last usable") {
		t.Errorf("cut image: %v", err)
	}
}

func TestGarbage(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	img, _ := smallGPT(t, 512)
	good, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, 512*(1+r.Intn(80)))
			r.Read(b)
			if i%4 == 0 {
				copy(b[510:], []byte{0x55, 0xaa})
				b[446+4] = 0xee
				if len(b) >= 1024 {
					copy(b[512:], "EFI PART")
				}
			}
		} else {
			b = append([]byte(nil), good[:64<<10]...)
			for j := 0; j < 1+r.Intn(8); j++ {
				b[r.Intn(3*512)] = byte(r.Intn(256))
			}
		}
		tab, err := disk.ParseTable(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			checkTable(t, tab, int64(len(b)))
		}
	}
}

// checkTable checks what any successfully parsed table must satisfy.
func checkTable(t testing.TB, tab *disk.Table, size int64) {
	t.Helper()
	if tab.Scheme != disk.SchemeGPT && tab.Scheme != disk.SchemeMBR {
		t.Fatalf("scheme %q", tab.Scheme)
	}
	if tab.SectorSize != 512 && tab.SectorSize != 4096 {
		t.Fatalf("sector size %d", tab.SectorSize)
	}
	last := 0
	for _, p := range tab.Partitions {
		if p.Number <= last || p.Number > 8192 {
			t.Fatalf("partition number %d after %d", p.Number, last)
		}
		last = p.Number
		if p.Start <= 0 || p.Size <= 0 || p.Start > size || p.Size > size-p.Start {
			t.Fatalf("partition %d: [%d +%d] outside %d bytes", p.Number, p.Start, p.Size, size)
		}
		if p.PartUUID != strings.ToLower(p.PartUUID) {
			t.Fatalf("PARTUUID %q not lower case", p.PartUUID)
		}
		switch {
		case p.Kind == disk.ESP && (p.TypeGUID == disk.ESPTypeGUID || p.MBRType == disk.MBRTypeESP):
		case p.Kind == disk.XBOOTLDR && (p.TypeGUID == disk.XBOOTLDRTypeGUID || p.MBRType == disk.MBRTypeXBOOTLDR):
		case p.Kind == "" && p.TypeGUID != disk.ESPTypeGUID && p.TypeGUID != disk.XBOOTLDRTypeGUID &&
			p.MBRType != disk.MBRTypeESP && p.MBRType != disk.MBRTypeXBOOTLDR:
		default:
			t.Fatalf("partition %d: kind %q for type %q/%#x", p.Number, p.Kind, p.TypeGUID, p.MBRType)
		}
	}
}

func FuzzParseTable(f *testing.F) {
	for _, ss := range []int{512, 4096} {
		// As small as a GPT gets: MBR, header, a one-sector entry array,
		// two partitions, then the backup array and header.
		img := filepath.Join(f.TempDir(), "seed")
		s := int64(ss)
		_, err := disktest.CreateGPT(img, s*9, disktest.GPT{SectorSize: ss, Entries: 4, Parts: []disktest.Part{
			{Type: disktest.ESPType, Start: s * 3, Size: s * 2, Name: "esp"},
			{Type: disktest.XBOOTLDRType, Start: s * 5, Size: s},
		}})
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(img)
		if err != nil {
			f.Fatal(err)
		}
		if tab, err := disk.ParseTable(bytes.NewReader(b), int64(len(b))); err != nil || len(tab.Boot()) != 2 {
			f.Fatalf("seed with %d-byte sectors: %+v, %v", ss, tab, err)
		}
		f.Add(b, uint16(0))
	}
	img := filepath.Join(f.TempDir(), "mbr")
	if _, err := disktest.CreateMBR(img, 8192, 7, []disktest.Part{{MBRType: 0xef, Start: 1024, Size: 2048}, {MBRType: 0xea, Start: 4096, Size: 1024}}); err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(img)
	f.Add(b, uint16(0))
	f.Add(make([]byte, 512), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, extra uint16) {
		// extra makes the device claim more than can be read.
		size := int64(len(data)) + int64(extra)
		tab, err := disk.ParseTable(bytes.NewReader(data), size)
		if err != nil {
			if tab != nil {
				t.Fatal("table and error")
			}
			return
		}
		checkTable(t, tab, size)
	})
}
