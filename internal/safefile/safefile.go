// Package safefile reads the small configuration files a boot depends on
// (trust-store files, SbatLevels) so that no file can hang or flood the
// boot: symbolic links are followed, the result must be a regular file
// (checked before opening and again on the open file, which is opened
// non-blocking, so a FIFO or device put in place cannot block), and at
// most a given number of bytes is read.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrDirectory is returned for a directory.
var ErrDirectory = errors.New("a directory, not a file")

// Read reads the regular file path, of at most max bytes. Its errors do
// not repeat path; callers name the file as the user knows it.
func Read(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, explain(path, err)
	}
	if err := regular(st); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, explain(path, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(st); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// explain rewords the error of a symbolic link that cannot be followed.
func explain(path string, err error) error {
	if lst, lerr := os.Lstat(path); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return fmt.Errorf("a symbolic link to %q that cannot be followed (%v): fix or remove the link", target, errors.Unwrap(err))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no such file")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func regular(st fs.FileInfo) error {
	switch {
	case st.IsDir():
		return ErrDirectory
	case !st.Mode().IsRegular():
		return fmt.Errorf("not a regular file (%v): remove it", st.Mode().Type())
	}
	return nil
}
