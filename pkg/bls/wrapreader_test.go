package bls_test

import (
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// Options.WrapReader wraps the reader of every UKI the scanner reads: a
// type #2 UKI and the one a type #1 entry's uki key names.
func TestWrapReaderSeesEveryUKI(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/a.efi", osrelUKI("ID=a\nVERSION_ID=1\n", "quiet"))
	write(t, esp, "EFI/images/b.efi", osrelUKI("ID=b\nVERSION_ID=1\n", "quiet"))
	write(t, esp, "loader/entries/b.conf", []byte("title B\nuki /EFI/images/b.efi\n"))
	want := []string{filepath.Join(esp, "EFI/Linux/a.efi"), filepath.Join(esp, "EFI/images/b.efi")}
	errBroken := errors.New("broken disk")
	for _, tc := range []struct {
		name    string
		readErr error // what the wrapped reader returns instead of reading
	}{
		{"reads go through the wrapper", nil},
		{"a failing wrapper makes the entries invalid", errBroken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := map[string]int{}
			wrap := func(name string, r io.ReaderAt) io.ReaderAt {
				return readerAtFunc(func(p []byte, off int64) (int, error) {
					if tc.readErr != nil {
						return 0, tc.readErr
					}
					n, err := r.ReadAt(p, off)
					read[name] += n
					return n, err
				})
			}
			c := load(t, bls.Options{WrapReader: wrap}, esp)
			if len(c.Entries) != 2 {
				t.Fatalf("entries %s, want a.efi and b.conf", ids(c))
			}
			for _, e := range c.Entries {
				if got := e.Status == bls.StatusOK; got != (tc.readErr == nil) {
					t.Errorf("%s: status %s (%v)", e.ID, e.Status, e.Err)
				}
				if tc.readErr != nil && (e.Err == nil || !strings.Contains(e.Err.Error(), errBroken.Error())) {
					t.Errorf("%s: error %v, want the reader's", e.ID, e.Err)
				}
			}
			if tc.readErr != nil {
				return
			}
			for _, name := range want {
				if read[name] == 0 {
					t.Errorf("nothing of %s read through the wrapper: %v", name, read)
				}
			}
		})
	}
}
