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
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// FAT32Min is the smallest file system size for which MakeFAT asks for
// FAT32; smaller ones get whatever mkfs.fat picks (FAT12 or FAT16).
const FAT32Min = 33 << 20

// run runs a tool and fails the test with its output when it fails.
func run(t testing.TB, env []string, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runErr(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// mtoolsEnv makes mtools accept any image geometry and ignore the
// user's configuration.
func mtoolsEnv() []string { return []string{"MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null"} }

// MakeFAT creates a FAT file system image of size bytes at img and copies
// the tree under dir (if not empty) into its root. FAT32 is used from
// FAT32Min up. It needs mkfs.fat and mcopy, not root.
func MakeFAT(t testing.TB, img string, size int64, dir, label string) {
	t.Helper()
	mkfs := ukitest.Need(t, "mkfs.fat")
	mcopy := ukitest.Need(t, "mcopy")
	if size%1024 != 0 {
		t.Fatalf("MakeFAT: size %d is not a multiple of 1 KiB", size)
	}
	if err := os.Remove(img); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	args := []string{"-C"}
	if size >= FAT32Min {
		args = append(args, "-F", "32")
	}
	if label != "" {
		args = append(args, "-n", label)
	}
	args = append(args, img, strconv.FormatInt(size/1024, 10))
	run(t, nil, mkfs, args...)
	if dir == "" {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		return
	}
	args = []string{"-s", "-p", "-Q", "-i", img}
	for _, e := range ents {
		args = append(args, filepath.Join(dir, e.Name()))
	}
	args = append(args, "::/")
	run(t, mtoolsEnv(), mcopy, args...)
}

// MakeExt4 creates an ext4 file system image of size bytes at img from the
// tree under dir (empty when dir is ""). It needs mke2fs, not root.
func MakeExt4(t testing.TB, img string, size int64, dir, label string) {
	t.Helper()
	mke2fs := ukitest.Need(t, "mke2fs")
	if size%1024 != 0 {
		t.Fatalf("MakeExt4: size %d is not a multiple of 1 KiB", size)
	}
	if err := os.Remove(img); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	args := []string{"-q", "-F", "-t", "ext4", "-E", "root_owner=0:0"}
	if label != "" {
		args = append(args, "-L", label)
	}
	if dir != "" {
		args = append(args, "-d", dir)
	}
	args = append(args, img, strconv.FormatInt(size/1024, 10)+"k")
	run(t, nil, mke2fs, args...)
}

// CopyInto writes the file img into the file disk at offset, failing when
// img is larger than limit bytes (limit <= 0: no limit). Blocks of zeros
// are not written where the disk already reads as zeros, so sparse images
// stay sparse.
func CopyInto(disk string, offset, limit int64, img string) error {
	src, err := os.Open(img)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if limit > 0 && st.Size() > limit {
		return fmt.Errorf("%s: %d bytes do not fit in %d bytes at offset %d of %s", img, st.Size(), limit, offset, disk)
	}
	dst, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	const chunk = 1 << 16
	buf := make([]byte, chunk)
	old := make([]byte, chunk)
	for pos := int64(0); ; pos += chunk {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			data := buf[:n]
			write := true
			if allZero(data) {
				m, _ := dst.ReadAt(old[:n], offset+pos)
				write = !allZero(old[:m]) // a read past the end reads as zeros
			}
			if write {
				if _, err := dst.WriteAt(data, offset+pos); err != nil {
					dst.Close()
					return err
				}
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			dst.Close()
			return rerr
		}
	}
	return dst.Close()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// mtoolsImage is the mtools drive specification of the FAT file system at
// offset bytes into img.
func mtoolsImage(img string, offset int64) string {
	if offset == 0 {
		return img
	}
	return img + "@@" + strconv.FormatInt(offset, 10)
}

// fatPath makes name absolute on the mtools drive.
func fatPath(name string) string {
	return "::/" + strings.TrimLeft(filepath.ToSlash(name), "/")
}

// ReadFATFile returns the contents of the file name (a path like
// "/loader/loader.conf") in the FAT file system at offset bytes into the
// image img, using mcopy. A missing file gives an error wrapping
// fs.ErrNotExist; a missing mtools skips or fails the test as ukitest.Need
// does.
func ReadFATFile(t testing.TB, img string, offset int64, name string) ([]byte, error) {
	t.Helper()
	mcopy := ukitest.Need(t, "mcopy")
	out, err := runErr(mtoolsEnv(), mcopy, "-n", "-i", mtoolsImage(img, offset), fatPath(name), "-")
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("%s@%d: %s: %w", img, offset, name, fs.ErrNotExist)
		}
		return nil, err
	}
	return out, nil
}

// ListFATDir returns the names in the directory dir (like "/EFI/Linux")
// of the FAT file system at offset bytes into img, sorted, with a "/"
// after the names of directories. A missing directory gives an error
// wrapping fs.ErrNotExist.
func ListFATDir(t testing.TB, img string, offset int64, dir string) ([]string, error) {
	t.Helper()
	mdir := ukitest.Need(t, "mdir")
	p := strings.TrimRight(fatPath(dir), "/")
	if p == ":" {
		p = "::/"
	}
	out, err := runErr(mtoolsEnv(), mdir, "-b", "-a", "-i", mtoolsImage(img, offset), p)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("%s@%d: %s: %w", img, offset, dir, fs.ErrNotExist)
		}
		return nil, err
	}
	// mdir -b prints one full path per line, "::/EFI/Linux/a.efi" or
	// "::/EFI/Linux/sub/".
	prefix := strings.TrimSuffix(p, "/") + "/"
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok || rest == "" || rest == "./" || rest == "../" {
			continue
		}
		names = append(names, rest)
	}
	sort.Strings(names)
	return names, nil
}
