package bls

import "strings"

// loadType1 reads the type #1 entries of a partition: the *.conf files
// in /loader/entries.
func loadType1(c *Config, part *Root, o Options) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, EntriesDir) {
		if skipName(name, ".conf") {
			continue
		}
		e := newEntry(part, EntriesDir, name, ".conf", Type1)
		data, err := part.ReadFile(e.Path, maxEntrySize)
		if err != nil {
			e.Status, e.Err = StatusInvalid, err
			e.Title = name
			out = append(out, e)
			continue
		}
		parseType1(e, data)
		if e.Architecture != "" && !strings.EqualFold(e.Architecture, o.Arch) {
			continue // for another CPU: systemd-boot does not show it
		}
		checkType1(e, o)
		out = append(out, e)
	}
	return out
}

// checkType1 decides whether a type #1 entry can boot: exactly one of
// linux, efi and uki; every file it names present; efi must be a UKI.
func checkType1(e *Entry, o Options) {
	n := 0
	for _, s := range []string{e.Linux, e.EFI, e.UKIKey} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		e.invalid("no linux, efi or uki key: nothing to boot")
		return
	case n > 1:
		e.invalid("more than one of linux, efi and uki")
		return
	}
	part := e.Root
	exists := func(key, p string) bool {
		f, err := part.Open(p)
		if err != nil {
			e.invalid("%s %s: %v", key, p, unwrapPathError(err))
			return false
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			e.invalid("%s %s: not a regular file", key, p)
			return false
		}
		return true
	}
	if e.Linux != "" {
		exists("linux", e.Linux)
	}
	for _, p := range e.Initrd {
		exists("initrd", p)
	}
	if target := e.EFI + e.UKIKey; target != "" {
		key := "efi"
		if e.UKIKey != "" {
			key = "uki"
		}
		if !exists(key, target) {
			return
		}
		f, err := part.Open(target)
		if err != nil {
			e.invalid("%s %s: %v", key, target, err)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		u, err := o.readUKI(f, st.Size(), part.Display(target))
		if err != nil {
			e.invalid("%s %s is not a bootable UKI (ukiboot can only kexec Linux UKIs): %v", key, target, err)
			return
		}
		if _, err := u.Profile(e.Profile); err != nil {
			e.invalid("%s %s: %v", key, target, err)
			return
		}
		e.UKI = target
	}
}
