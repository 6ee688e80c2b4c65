package stub_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

const (
	mib      = int64(1) << 20
	sparse2G = int64(2) << 30
)

// countingFile counts the bytes read from a file and refuses to read more
// than max of them, so that a test of code that would read a 2 GiB file
// whole fails fast instead of filling memory.
type countingFile struct {
	f    stub.File
	size int64 // what Stat says; the real size when 0
	read *int64
	max  int64
}

var errReadTooMuch = errors.New("test: read past the allowance")

func (c *countingFile) count(n int) error {
	*c.read += int64(n)
	if *c.read > c.max {
		return errReadTooMuch
	}
	return nil
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if e := c.count(n); e != nil {
		return n, e
	}
	return n, err
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	if e := c.count(n); e != nil {
		return n, e
	}
	return n, err
}

func (c *countingFile) Close() error { return c.f.Close() }

func (c *countingFile) ReadDir(n int) ([]fs.DirEntry, error) { return c.f.ReadDir(n) }

// openFunc is Files with Open replaced.
type openFunc struct {
	stub.Files
	open func(name string) (stub.File, error)
}

func (o openFunc) Open(name string) (stub.File, error) { return o.open(name) }

func (c *countingFile) Stat() (fs.FileInfo, error) {
	st, err := c.f.Stat()
	if err != nil || c.size == 0 {
		return st, err
	}
	return staleInfo{st, c.size}, nil
}

// staleInfo is the fstat of a file taken before it grew.
type staleInfo struct {
	fs.FileInfo
	size int64
}

func (s staleInfo) Size() int64 { return s.size }

// grow makes root/name a sparse file of size bytes (it takes no disk),
// keeping what it holds at its start.
func grow(t *testing.T, root, name string, size int64) {
	t.Helper()
	if err := os.Truncate(filepath.Join(root, filepath.FromSlash(name)), size); err != nil {
		t.Fatal(err)
	}
}

// TestMaxSize presents 2 GiB sparse files as every kind of file a boot
// reads whole and counts the bytes read from each: at most 1 MiB before
// it is refused. A file whose fstat was taken before it grew is read up
// to that size and no further.
func TestMaxSize(t *testing.T) {
	report := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyReport, Store: authenticode.NewStore()}}
	goodUKI := ukitest.UKI(ukitest.S(".osrel", "ID=good\n"), ukitest.S(".uname", "6.1"), ukitest.S(".linux", "KERNEL"))
	addon := ukitest.UKI(ukitest.S(".cmdline", "from-addon=1"))
	withGood := func(name string, data []byte) map[string][]byte {
		return map[string][]byte{"EFI/Linux/good.efi": goodUKI, name: data}
	}
	cases := []struct {
		name   string
		files  map[string][]byte
		big    string // the file made big
		size   int64  // its size, default 2 GiB
		stat   int64  // what fstat says of it when it grows while read
		entry  string
		policy stub.Policy
		note   string // the boot goes on with this note; else it fails
	}{
		{name: "UKI", files: map[string][]byte{"EFI/Linux/big.efi": goodUKI}, big: "EFI/Linux/big.efi", entry: "big.efi", policy: report},
		{name: "UKI, verification off", files: map[string][]byte{"EFI/Linux/big.efi": goodUKI}, big: "EFI/Linux/big.efi", entry: "big.efi"},
		{name: "UKI named by a type #1 entry", files: map[string][]byte{"big.efi": goodUKI, "loader/entries/u.conf": []byte("uki /big.efi\n")}, big: "big.efi", entry: "u.conf", policy: report},
		{name: "addon", files: withGood("EFI/Linux/good.efi.extra.d/big.addon.efi", addon), big: "EFI/Linux/good.efi.extra.d/big.addon.efi", entry: "good.efi", policy: report, note: "addon skipped"},
		{name: "global addon", files: withGood("loader/addons/big.addon.efi", addon), big: "loader/addons/big.addon.efi", entry: "good.efi", policy: report, note: "addon skipped"},
		{name: "credential", files: withGood("EFI/Linux/good.efi.extra.d/big.cred", []byte("secret")), big: "EFI/Linux/good.efi.extra.d/big.cred", entry: "good.efi", policy: report},
		{name: "global credential", files: withGood("loader/credentials/big.cred", []byte("secret")), big: "loader/credentials/big.cred", entry: "good.efi", policy: report},
		{name: "system extension", files: withGood("EFI/Linux/good.efi.extra.d/big.raw", []byte("sysext")), big: "EFI/Linux/good.efi.extra.d/big.raw", entry: "good.efi", policy: report},
		{name: "configuration extension", files: withGood("loader/extensions/big.confext.raw", []byte("confext")), big: "loader/extensions/big.confext.raw", entry: "good.efi", policy: report},
		{name: "type #1 kernel", files: map[string][]byte{"vmlinuz": []byte("K"), "loader/entries/t1.conf": []byte("linux /vmlinuz\n")}, big: "vmlinuz", entry: "t1.conf", policy: report},
		{name: "type #1 initrd", files: map[string][]byte{"vmlinuz": []byte("K"), "initrd": []byte("I"), "loader/entries/t1.conf": []byte("linux /vmlinuz\ninitrd /initrd\n")}, big: "initrd", entry: "t1.conf", policy: report},
		{name: "limit from the policy", files: map[string][]byte{"EFI/Linux/big.efi": goodUKI}, big: "EFI/Linux/big.efi", size: mib/2 + 1, entry: "big.efi", policy: stub.Policy{MaxSize: mib / 2}},
		{name: "UKI that grows while it is read", files: map[string][]byte{"EFI/Linux/big.efi": goodUKI}, big: "EFI/Linux/big.efi", stat: mib / 2, entry: "big.efi", policy: report, note: "unsigned"},
		{name: "credential that grows while it is read", files: withGood("EFI/Linux/good.efi.extra.d/big.cred", []byte("secret")), big: "EFI/Linux/good.efi.extra.d/big.cred", stat: mib / 2, entry: "good.efi", policy: report, note: "unsigned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			size := c.size
			if size == 0 {
				size = sparse2G
			}
			esp := t.TempDir()
			for name, data := range c.files {
				write(t, esp, name, data)
			}
			grow(t, esp, c.big, size)
			tg := target(t, esp, c.entry)
			var read int64 // from the big file
			files := tg.Files
			tg.Files = openFunc{files, func(name string) (stub.File, error) {
				f, err := files.Open(name)
				if err != nil {
					return nil, err
				}
				if strings.TrimPrefix(name, "/") != c.big {
					return f, nil
				}
				return &countingFile{f: f, size: c.stat, read: &read, max: mib}, nil
			}}
			p, err := stub.Build(tg, c.policy)
			if read > mib || errors.Is(err, errReadTooMuch) {
				t.Fatalf("%d bytes of %s read, at most %d allowed (%v)", read, c.big, mib, err)
			}
			if c.note != "" {
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				notes := strings.Join(p.Notes, "\n")
				if !strings.Contains(notes, c.note) || c.stat == 0 && !strings.Contains(notes, "-max-size") {
					t.Errorf("notes %q lack %q or how to raise the limit", notes, c.note)
				}
				if c.stat != 0 && read < c.stat {
					t.Errorf("%d bytes read, fstat said %d", read, c.stat)
				}
				return
			}
			var tl *stub.TooLargeError
			if !errors.As(err, &tl) {
				if err == nil {
					p.Close()
				}
				t.Fatalf("error %v, want a TooLargeError", err)
			}
			limit := c.policy.MaxSize
			if limit == 0 {
				limit = stub.DefaultMaxSize
			}
			msg := err.Error()
			for _, want := range []string{filepath.Join(esp, c.big), fmt.Sprint(size), fmt.Sprint(limit), "-max-size"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
		})
	}
}
