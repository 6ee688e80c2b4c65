package main

// coldPrepare empties the page cache before each cold run (root only),
// then reads the ukiboot binary back: at boot ukiboot lives in the
// initramfs, in RAM, so only the UKI comes from the disk. Without it the
// cold dry-run would also pay for loading its own 7 MB from the disk
// (about 40 ms on this project's machine), which cat does not. The cat
// of the binary also caches cat, its libraries and the shell, so that
// neither command loads its program from the disk either.
func coldPrepare(ukiboot string) string {
	return "sync; echo 3 > /proc/sys/vm/drop_caches; " + shellJoin("cat", ukiboot) + " > /dev/null"
}
