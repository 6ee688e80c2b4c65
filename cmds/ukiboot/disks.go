package main

// scanDisks returns the partition directories to read: the -root
// directories as given, or the ESP and XBOOTLDR partitions found on the
// block devices, mounted read-only.
func scanDisks(o *options, logf func(string, ...any)) ([]string, func(), error) {
	if len(o.roots) > 0 {
		return o.roots, func() {}, nil
	}
	return mountDisks(o, logf)
}
