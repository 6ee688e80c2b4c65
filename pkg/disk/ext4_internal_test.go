package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
)

// TestReadExt4State reads the superblock fields that make a read-only
// ext4 mount write: the journal's INCOMPAT_RECOVER and the orphan list.
func TestReadExt4State(t *testing.T) {
	img := filepath.Join(t.TempDir(), "ext4")
	disktest.MakeExt4(t, img, 8<<20, "", "")
	clean, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	set := func(off int, bits uint32) []byte {
		b := bytes.Clone(clean)
		p := b[ext4SuperOff+off:]
		binary.LittleEndian.PutUint32(p, binary.LittleEndian.Uint32(p)|bits)
		return b
	}
	for _, c := range []struct {
		name string
		img  []byte
		want ext4State
	}{
		{"clean", clean, ext4State{}},
		{"journal needs recovery", set(ext4IncompatOff, ext4IncompatRecover), ext4State{NeedsRecovery: true}},
		{"orphan list", set(ext4LastOrphanOff, 12), ext4State{Orphans: true}},
		{"orphan file not empty", set(ext4ROCompatOff, ext4ROCompatOrphanPr), ext4State{Orphans: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readExt4State(bytes.NewReader(c.img))
			if err != nil || got != c.want {
				t.Errorf("readExt4State = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	if _, err := readExt4State(bytes.NewReader(clean[:1100])); err == nil {
		t.Error("a short superblock is not an error")
	}
}

// TestROOptions: how each file system is mounted so that the mount writes
// nothing, and when the mount may later be made writable.
func TestROOptions(t *testing.T) {
	for _, c := range []struct {
		name    string
		fs      string
		st      ext4State
		data    string
		holdRO  bool
		noWrite bool
	}{
		{"vfat", FSVFAT, ext4State{}, "", false, false},
		{"clean ext4: journal loaded, device held read-only", FSExt4, ext4State{}, "", true, false},
		{"ext4 journal needs recovery: noload, never writable", FSExt4, ext4State{NeedsRecovery: true}, "noload", true, true},
		{"ext4 with orphans: never writable", FSExt4, ext4State{Orphans: true}, "", true, true},
		{"ext4 with both", FSExt4, ext4State{NeedsRecovery: true, Orphans: true}, "noload", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := roOptions(c.fs, c.st)
			if got.data != c.data || got.holdRO != c.holdRO || (got.noWrite != "") != c.noWrite {
				t.Errorf("roOptions = %+v, want data %q holdRO %v noWrite %v", got, c.data, c.holdRO, c.noWrite)
			}
		})
	}
}
