package disk_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

// TestMountExt4WritesNothing: a read-only mount of an ext4 XBOOTLDR
// writes nothing to the disk, even when its journal needs recovery or it
// lists orphan inodes (the kernel replays the one and cleans up the other
// on a read-only mount unless told not to), and such a mount is never
// made writable for a boot-counting rename. Root and loop devices only.
func TestMountExt4WritesNothing(t *testing.T) {
	needLoop(t)
	if !kernelHas("ext4") {
		t.Skip("the kernel has no ext4")
	}
	debugfs := ukitest.Need(t, "debugfs")
	for _, c := range []struct {
		name   string
		edit   string // debugfs -w request on the file system
		refuse string // RemountRW's error, "" when it works
	}{
		{"clean", "", ""},
		{"journal needs recovery", "feature +needs_recovery", "ext4 journal needs recovery"},
		{"orphan inode listed", "ssv last_orphan 12", "orphan inodes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tree := t.TempDir()
			// The first file made is inode 12, the orphan listed above.
			if err := os.WriteFile(filepath.Join(tree, "f"), bytes.Repeat([]byte("x"), 5000), 0o644); err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(t.TempDir(), "disk.img")
			d := disktest.BuildDisk(t, img, []disktest.PartSpec{{Kind: disktest.KindXBOOTLDR, FS: disktest.FSExt4, Dir: tree, SizeMiB: 16}})
			if c.edit != "" {
				editPartition(t, img, d.Parts[0].Start, d.Parts[0].Size, debugfs, c.edit)
			}
			node := disk.PartitionName(loopDisk(t, img), 1)
			before := hashFile(t, node)

			m, err := disk.Mount(disk.Partition{Number: 1, Kind: disk.XBOOTLDR, Device: node}, filepath.Join(t.TempDir(), "mnt"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Unmount() })
			if b, err := os.ReadFile(filepath.Join(m.Dir, "f")); err != nil || len(b) != 5000 {
				t.Errorf("reading f: %d bytes, %v", len(b), err)
			}
			if c.refuse != "" {
				err := m.RemountRW()
				if err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), node) {
					t.Errorf("RemountRW: %v, want an error naming %s and saying %q", err, node, c.refuse)
				}
			}
			if err := m.Unmount(); err != nil {
				t.Fatal(err)
			}
			if after := hashFile(t, node); after != before {
				t.Errorf("mounting and unmounting %s wrote to it", node)
			}
		})
	}
}

// editPartition runs a debugfs -w request on the file system of the
// partition at [start, start+size) of the image img.
func editPartition(t *testing.T, img string, start, size int64, debugfs, request string) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	part := filepath.Join(t.TempDir(), "part.img")
	b := make([]byte, size)
	if _, err := f.ReadAt(b, start); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(debugfs, "-w", "-R", request, part).CombinedOutput(); err != nil {
		t.Fatalf("debugfs -R %q: %v: %s", request, err, out)
	}
	if b, err = os.ReadFile(part); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, start); err != nil {
		t.Fatal(err)
	}
}

func hashFile(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
