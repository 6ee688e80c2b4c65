package bls

import (
	"os"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/conform"
)

// loadType1 reads the type #1 entries of a partition: the *.conf files
// in /loader/entries (boot.c: config_load_type1_entries).
func loadType1(c *Config, part *Root, o Options) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, EntriesDir, ".conf") {
		e := newEntry(part, EntriesDir, name, ".conf", Type1)
		data, err := part.ReadFile(e.Path, maxEntrySize)
		if err != nil {
			e.Status, e.Err = StatusInvalid, err
			e.Title = name
			out = append(out, e)
			continue
		}
		parseType1(e, data)
		checkType1(e, o)
		out = append(out, e)
	}
	return out
}

// loadExtra makes the type #1 entries given as text (Options.Extra: the
// SMBIOS io.systemd.boot.entries-extra:NAME.conf=CONTENT strings), as
// boot.c: config_load_smbios_entries does: the name must be a valid
// entry file name, the id is the name in lower case, the entry is not
// boot-counted, and its paths are on the ESP (esp; nil when there is
// none). They are sorted with the other entries.
func loadExtra(esp *Root, o Options) []*Entry {
	if !conform.Follows(conform.SMBIOSEntriesExtra) {
		return nil
	}
	var out []*Entry
	for _, x := range o.Extra {
		e := &Entry{Type: Type1, Root: esp, FileName: x.Name, Origin: "SMBIOS:" + x.Name,
			ID: strings.ToLower(x.Name), Status: StatusOK, TriesLeft: -1, TriesDone: -1}
		out = append(out, e)
		switch {
		case skipName(x.Name, ".conf"):
			e.hide("not an entry name (NAME.conf, not starting with '.' or \"auto-\"): systemd-boot ignores it")
			continue
		case esp == nil:
			e.hide("no ESP to find its files on")
			continue
		}
		parseType1(e, x.Content)
		checkType1(e, o)
	}
	return out
}

// checkType1 decides whether a type #1 entry is listed and can boot, as
// boot.c: boot_entry_add_type1 does. systemd-boot drops (here: hides) an
// entry for another architecture, one that names none or more than one of
// linux, efi, uki and uki-url, a uki-url entry without network boot or
// with a relative URL (checkUKIURL), and one whose linux, efi or uki file
// cannot be opened. It lists
// entries whose initrd or devicetree files are missing (booting them
// fails): ukiboot lists them as invalid, as it does efi and uki files
// that are not Linux UKIs for this CPU.
func checkType1(e *Entry, o Options) {
	if e.Status == StatusHidden {
		return
	}
	if e.Architecture != "" && !strings.EqualFold(e.Architecture, o.Arch) {
		e.hide("architecture %s, this machine is %s (systemd-boot drops entries for another CPU)", e.Architecture, o.Arch)
		return
	}
	key, target := "", ""
	for _, k := range []struct{ key, path string }{{"linux", e.Linux}, {"efi", e.EFI}, {"uki", e.UKIKey}, {"uki-url", e.UKIURL}} {
		if k.path != "" {
			key, target = k.key, k.path
		}
	}
	switch {
	case key == "" && e.Status == StatusInvalid:
		e.Status = StatusHidden // its path was refused: it cannot be opened
		return
	case key == "":
		e.hide("no linux, efi, uki or uki-url key: nothing to boot (systemd-boot drops such entries)")
		return
	case key == "uki-url":
		checkUKIURL(e, o)
		return
	}
	part := e.Root
	f, err := part.Open(target)
	if err != nil {
		e.hide("%s %s: %v (systemd-boot drops entries whose %s file cannot be opened)", key, target, unwrapPathError(err), key)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		e.invalid("%s %s: not a regular file", key, target)
		return
	}
	for _, p := range e.Initrd {
		checkRegular(e, "initrd", p)
	}
	if key == "efi" || key == "uki" {
		checkType1UKI(e, o, key, target, f, st.Size())
	}
}

// checkRegular marks e invalid unless the file p (named by key) on its
// partition is a regular file.
func checkRegular(e *Entry, key, p string) {
	f, err := e.Root.Open(p)
	if err != nil {
		e.invalid("%s %s: %v", key, p, unwrapPathError(err))
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		e.invalid("%s %s: not a regular file", key, p)
	}
}

// checkType1UKI checks that the efi or uki file of a type #1 entry (f,
// of size bytes) is a Linux UKI for this CPU with the entry's profile,
// and makes it the UKI the entry boots.
func checkType1UKI(e *Entry, o Options, key, target string, f *os.File, size int64) {
	u, err := o.readUKI(f, size, e.Root.Display(target))
	if err != nil {
		e.invalid("%s %s is not a bootable UKI (ukiboot can only kexec Linux UKIs): %v", key, target, err)
		return
	}
	if arch := EFIArch(u.Header.Machine.GOARCH()); !strings.EqualFold(arch, o.Arch) {
		e.invalid("%s %s is built for %s (%s), this machine is %s", key, target, arch, u.Header.Machine, o.Arch)
		return
	}
	if _, err := u.Profile(e.Profile); err != nil {
		e.invalid("%s %s: %v", key, target, err)
		return
	}
	e.UKI = target
}
