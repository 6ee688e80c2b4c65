// Package bls finds boot entries on ESP and XBOOTLDR partitions and orders
// them as systemd-boot does (UAPI.1, the Boot Loader Specification):
// type #1 entries (/loader/entries/*.conf) and type #2 entries
// (/EFI/Linux/*.efi UKIs, one entry per profile), boot counting,
// loader.conf, and the default entry. For network boot it also lists
// type #1 entries with uki-url and the caller's UKIs on the network
// (Options.URLs, ukiboot's -url), whose headers it reads through an
// io.ReaderAt the caller supplies (net.go): it does no networking itself.
//
// It only reads: files are opened through os.Root, relative to the
// partition that names them, so no entry can reach outside its partition.
package bls

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Type is the kind of entry.
type Type int

const (
	Type1 Type = 1 // /loader/entries/*.conf
	Type2 Type = 2 // /EFI/Linux/*.efi
)

func (t Type) String() string { return fmt.Sprintf("type%d", int(t)) }

// Status says whether an entry is well formed. Trust is not part of it:
// pkg/bls knows nothing about signatures (the caller verifies what it
// boots).
type Status string

const (
	StatusOK      Status = "ok"
	StatusInvalid Status = "invalid" // broken, missing files, not a UKI, ...
	// StatusHidden: systemd-boot does not list the entry (its kernel or
	// UKI file is missing, its keys conflict, it is for another CPU, ...).
	// Hidden entries are kept apart, in Config.Hidden, with the reason in
	// Err: they are never in the menu, never the default, never booted.
	StatusHidden Status = "hidden"
)

// Entry is one menu entry.
type Entry struct {
	// ID is the file name with the boot counter removed, as systemd-boot
	// v259 makes it (boot.c: boot_entry_parse_tries, boot_entry_add_type1,
	// boot_entry_add_type2): type #1 ids are lower case; a type #2 id is
	// lower case unless the file has a boot counter, in which case it is
	// the name before the '+' as written, plus ".efi". For profiles > 0 of
	// a UKI it is "<id>@<profile ID>", the profile ID as written, or
	// "<id>@<N>" when the profile has no ID.
	ID string
	// IDWithoutProfile is the UKI's id for profiles > 0, else "".
	IDWithoutProfile string
	Type             Type

	Title     string // "title", or from os-release for type #2; may be ""
	ShowTitle string // what the menu shows: unique among the entries
	Version   string
	SortKey   string
	// SortKeySet: a sort key was given, maybe empty ("sort-key \"\"",
	// IMAGE_ID=""); systemd-boot sorts an empty one as a sort key too.
	SortKeySet bool
	MachineID  string

	// Type #1 keys.
	Architecture string
	Linux        string   // kernel path on the partition
	Initrd       []string // in order
	EFI          string   // "efi" key
	UKIKey       string   // "uki" key
	// UKIURL is the "uki-url" key as written, or the -url (NetUKI.URL) of
	// a network type #2 entry (Network); UKI is then the URL as messages
	// name it.
	UKIURL            string
	Options           []string // every "options" line, in order
	Devicetree        string
	DevicetreeOverlay []string
	// Unknown keys, kept for display.
	Other []KeyValue

	// UKI is the path of the UKI this entry boots (type #2, or type #1 with
	// "uki" or an "efi" pointing at a UKI); "" for a kernel entry.
	UKI string
	// Profile is the UKI profile number (0 unless the UKI has profiles).
	Profile      int
	ProfileID    string
	ProfileTitle string
	// Cmdline is the command line the entry implies: type #1 options, or
	// the UKI profile's .cmdline (display only; the boot plan decides).
	Cmdline string

	// Root is the partition's file tree that holds the entry file; Path is
	// the entry file's path on it
	// ("/loader/entries/x.conf" or "/EFI/Linux/x.efi").
	Root *Root
	Path string
	// FileName is the entry file's name as found (with the counter).
	FileName string
	// Origin names an entry that is not a file: "SMBIOS:NAME.conf" for an
	// io.systemd.boot.entries-extra entry (Options.Extra), whose paths are
	// on Root, the ESP. "" for entries read from a file.
	Origin string

	// Counter is the boot counter; TriesLeft is -1 without one, TriesDone
	// is -1 when not written.
	Counter   *Counter
	TriesLeft int
	TriesDone int

	Status Status
	Err    error
	// Warning is a problem that does not keep the entry from being
	// chosen: a -url UKI that could not be listed (its server is down,
	// has no Range support, ...) is listed by its URL, and booting it
	// reports what goes wrong then.
	Warning error
}

// Bad reports whether the entry has used up its boot attempts.
func (e *Entry) Bad() bool { return e.TriesLeft == 0 }

// Bootable reports whether the entry can be chosen.
func (e *Entry) Bootable() bool { return e.Status == StatusOK }

// DisplayPath names the entry file as the user knows it, for messages
// (Root.Display).
func (e *Entry) DisplayPath() string {
	if e.Origin != "" {
		return e.Origin
	}
	if e.Root == nil {
		return e.Path
	}
	return e.Root.Display(e.Path)
}

// FullPath is the entry file's path on the host (partition mount + Path).
func (e *Entry) FullPath() string {
	if e.Origin != "" {
		return e.Origin
	}
	if e.Root == nil {
		return e.Path
	}
	return path.Join(e.Root.Path, e.Path)
}

func (e *Entry) invalid(format string, args ...any) {
	if e.Status != StatusOK {
		return // keep the first reason; hidden stays hidden
	}
	e.Status = StatusInvalid
	e.Err = fmt.Errorf("%s: %s", e.DisplayPath(), fmt.Sprintf(format, args...))
}

// hasSortKey reports whether the entry sorts by sort key
// (boot_entry_compare tests sort_key for NULL, not for "").
func (e *Entry) hasSortKey() bool { return e.SortKey != "" || e.SortKeySet }

// hide marks the entry as one systemd-boot does not list, with the reason.
// It overrides an earlier "invalid" (what systemd-boot drops is never
// shown); the first hiding reason is kept.
func (e *Entry) hide(format string, args ...any) {
	if e.Status == StatusHidden {
		return
	}
	e.Status = StatusHidden
	e.Err = fmt.Errorf("%s: %s", e.DisplayPath(), fmt.Sprintf(format, args...))
}

// normalizePath makes an entry's path absolute on its partition and rejects
// paths that are not normalized ("." or ".." components, a trailing '/'),
// as bootctl does.
func normalizePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if strings.HasSuffix(p, "/") {
		return "", fmt.Errorf("path %q names a directory", p)
	}
	for _, c := range strings.Split(p[1:], "/") {
		if c == "." || c == ".." {
			return "", fmt.Errorf("path %q is not normalized: %q would leave or loop on the partition", p, c)
		}
	}
	return path.Clean(p), nil
}

// parseType1 reads the keys of a type #1 entry file into e, as
// systemd-boot v259 does (boot.c: boot_entry_add_type1, with
// line_get_key_value): one pair of quotes is removed from a value, there
// are no escapes, and a key given twice takes the last value (initrd and
// options add up). linux, efi, uki and uki-url name what the entry boots:
// repeating one replaces it, but a second, different one makes the entry
// one systemd-boot drops, and parsing stops there.
func parseType1(e *Entry, data []byte) {
	setPath := func(key, v string, dst *string) {
		p, err := normalizePath(v)
		if err != nil {
			e.invalid("%s: %v", key, err)
			return
		}
		*dst = p
	}
	kind, stop := "", false // kind: the linux, efi, uki or uki-url key seen
	uki.BootKeyValues(data, " \t", func(line int, key, value string) {
		if stop {
			return
		}
		switch key {
		case "linux", "efi", "uki", "uki-url":
			if kind != "" && kind != key {
				e.hide("both %s and %s: an entry names one thing to boot (systemd-boot drops such entries)", kind, key)
				stop = true
				return
			}
			kind = key
		}
		switch key {
		case "title":
			e.Title = value
		case "version":
			e.Version = value
		case "machine-id":
			e.MachineID = value
		case "sort-key":
			e.SortKey, e.SortKeySet = value, true
		case "architecture":
			e.Architecture = value
		case "options":
			e.Options = append(e.Options, value)
		case "linux":
			setPath(key, value, &e.Linux)
		case "efi":
			setPath(key, value, &e.EFI)
		case "uki":
			setPath(key, value, &e.UKIKey)
		case "uki-url":
			e.UKIURL = value
		case "initrd":
			var p string
			setPath(key, value, &p)
			if p != "" {
				e.Initrd = append(e.Initrd, p)
			}
		case "devicetree":
			setPath(key, value, &e.Devicetree)
		case "devicetree-overlay":
			for _, f := range strings.Fields(value) {
				var p string
				setPath(key, f, &p)
				if p != "" {
					e.DevicetreeOverlay = append(e.DevicetreeOverlay, p)
				}
			}
		case "profile":
			// Digits only, as systemd-boot parses it; anything else
			// leaves profile 0.
			if n, err := strconv.ParseUint(value, 10, 31); err == nil && value[0] != '+' {
				e.Profile = int(n)
			}
		default:
			e.Other = append(e.Other, KeyValue{key, value})
		}
	})
	e.Cmdline = strings.Join(e.Options, " ")
}
