package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// fileDev is the MAJ:MIN of the device of the filesystem holding name
// (stat(2)'s st_dev).
func fileDev(name string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		return "", fmt.Errorf("stat %s: %v", name, err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}
