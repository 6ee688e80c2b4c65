package bls

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of a root, to skip a partition given twice.
func fileID(r *os.Root) ([2]uint64, bool) {
	st, err := r.Stat(".")
	if err != nil {
		return [2]uint64{}, false
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, false
	}
	return [2]uint64{uint64(s.Dev), s.Ino}, true
}
