package netboot

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// memfdCopy copies exactly size bytes of r, the download of the UKI
// named name, into a new sealed memfd, rewound. r's errors name the
// UKI already.
func memfdCopy(name string, r io.Reader, size int64) (*os.File, error) {
	fd, err := unix.MemfdCreate("ukiboot-net", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("%s: memfd_create for the download: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	n, err := io.CopyBuffer(f, io.LimitReader(r, size), make([]byte, 1<<20))
	if err != nil {
		f.Close()
		return nil, err
	}
	if n != size {
		err = fmt.Errorf("downloaded %d of %d bytes", n, size)
	}
	if err == nil {
		const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
		_, err = unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: keeping the download in memory: %w", name, err)
	}
	return f, nil
}
