package smbios

import (
	"fmt"
	"io/fs"
	"strings"
)

// TypeOEMStrings is the SMBIOS type of the OEM strings structure.
const TypeOEMStrings = 11

// The Type 11 OEM strings systemd-boot and systemd-stub read. Each is a
// prefix; what follows it is the value.
const (
	// KeyStubCmdlineExtra is appended by systemd-stub to a UKI's command
	// line (src/boot/stub.c: cmdline_append_and_measure_smbios).
	KeyStubCmdlineExtra = "io.systemd.stub.kernel-cmdline-extra="
	// KeyBootCmdlineExtra is appended by systemd-boot to a type #1 linux
	// entry's command line (src/boot/boot.c: call_image_start).
	KeyBootCmdlineExtra = "io.systemd.boot.kernel-cmdline-extra="
	// KeyBootEntriesExtra followed by NAME.conf=CONTENT adds a type #1
	// entry (src/boot/boot.c: config_load_smbios_entries, v258).
	KeyBootEntriesExtra = "io.systemd.boot.entries-extra:"
	// KeyBootTimeout sets the menu timeout from systemd v260 on.
	KeyBootTimeout = "io.systemd.boot.timeout="
)

// oemHeaderSize is the size of a Type 11 structure's fixed part: the
// header and the string count. systemd ignores a first Type 11 structure
// shorter than that (get_smbios_table's min_size).
const oemHeaderSize = HeaderSize + 1

// Value is an OEM string's value, with whether the string was there at
// all (systemd appends a present but empty boot extra).
type Value struct {
	Text string
	Set  bool
}

// ExtraEntry is one io.systemd.boot.entries-extra:NAME.conf=CONTENT
// string.
type ExtraEntry struct {
	Name    string
	Content string
}

// OEM is what the Type 11 OEM strings say to systemd-boot and
// systemd-stub.
type OEM struct {
	// Path is the raw file the strings were read from; "" when the
	// machine has none.
	Path string
	// Strings are the strings systemd searches, in order.
	Strings []string
	// StubCmdlineExtra is the first io.systemd.stub.kernel-cmdline-extra=.
	StubCmdlineExtra Value
	// BootCmdlineExtra is the first io.systemd.boot.kernel-cmdline-extra=.
	BootCmdlineExtra Value
	// EntriesExtra are the valid io.systemd.boot.entries-extra: strings,
	// in order.
	EntriesExtra []ExtraEntry
	// Timeout is the first io.systemd.boot.timeout= (read by systemd
	// v260 on).
	Timeout Value
	// Skipped says which strings of a known key were not used, and why.
	Skipped []string
}

// ReadOEM reads the OEM strings from the Type 11 structures of fsys (see
// ReadStructures). Like systemd (src/boot/smbios.c: get_smbios_table),
// only the first Type 11 structure is searched: qemu and coreboot put all
// strings into one; the others are reported in Skipped. A machine without
// Type 11 structures has an empty OEM; a machine without dmi-sysfs is
// ErrNoEntries.
func ReadOEM(fsys fs.FS) (OEM, error) {
	structs, err := ReadStructures(fsys, TypeOEMStrings)
	if err != nil || len(structs) == 0 {
		return OEM{}, err
	}
	o := ParseOEM(structs[0])
	for _, s := range structs[1:] {
		for _, str := range s.Strings {
			if strings.HasPrefix(str, "io.systemd.") {
				o.Skipped = append(o.Skipped, fmt.Sprintf("%s: %q: only the first Type 11 structure is read, as systemd does", s.Path, clip(str)))
			}
		}
	}
	return o, nil
}

// ParseOEM reads the keys systemd knows from one Type 11 structure.
func ParseOEM(s Structure) OEM {
	o := OEM{Path: s.Path}
	if len(s.Formatted) < oemHeaderSize {
		o.Skipped = append(o.Skipped, fmt.Sprintf("%s: Type 11 structure of %d bytes, shorter than %d: ignored, as systemd does", s.Path, len(s.Formatted), oemHeaderSize))
		return o
	}
	o.Strings = oemStrings(s)
	o.StubCmdlineExtra = FindOEMString(o.Strings, KeyStubCmdlineExtra)
	o.BootCmdlineExtra = FindOEMString(o.Strings, KeyBootCmdlineExtra)
	o.Timeout = FindOEMString(o.Strings, KeyBootTimeout)
	for _, str := range o.Strings {
		rest, ok := strings.CutPrefix(str, KeyBootEntriesExtra)
		if !ok {
			continue
		}
		name, content, ok := strings.Cut(rest, "=")
		switch {
		case !ok:
			o.Skipped = append(o.Skipped, fmt.Sprintf("%q: no '=' after the file name", clip(str)))
		case !ValidEntryName(name):
			o.Skipped = append(o.Skipped, fmt.Sprintf("%q: %q is not a type #1 entry file name (NAME.conf, not starting with '.' or 'auto-')", clip(str), clip(name)))
		default:
			o.EntriesExtra = append(o.EntriesExtra, ExtraEntry{Name: name, Content: content})
		}
	}
	return o
}

// oemStrings returns the strings systemd's smbios_find_oem_string walks:
// it starts right after the count byte, so a Type 11 structure longer
// than 5 bytes (not what the specification allows) has its extra
// formatted bytes read as strings too, up to the first empty string.
func oemStrings(s Structure) []string {
	if len(s.Formatted) == oemHeaderSize {
		return s.Strings
	}
	var b strings.Builder
	b.Write(s.Formatted[oemHeaderSize:])
	for _, str := range s.Strings {
		b.WriteString(str)
		b.WriteByte(0)
	}
	var out []string
	for _, str := range strings.Split(b.String(), "\x00") {
		if str == "" {
			break
		}
		out = append(out, str)
	}
	return out
}

// FindOEMString returns the value of the first string that starts with
// key (src/boot/smbios.c: smbios_find_oem_string): the first wins, the
// match is case-sensitive, and key includes its '='.
func FindOEMString(strs []string, key string) Value {
	for _, s := range strs {
		if v, ok := strings.CutPrefix(s, key); ok {
			return Value{Text: v, Set: true}
		}
	}
	return Value{}
}

// ValidEntryName reports whether name may name a type #1 entry given in
// SMBIOS (src/boot/boot.c: valid_type1_filename): not empty, not starting
// with '.', ending in ".conf" and not starting with "auto-" (both in any
// case).
func ValidEntryName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	return hasSuffixASCIIFold(name, ".conf") && !(len(name) >= 5 && asciiEqualFold(name[:5], "auto-"))
}

func hasSuffixASCIIFold(s, suffix string) bool {
	return len(s) >= len(suffix) && asciiEqualFold(s[len(s)-len(suffix):], suffix)
}

// asciiEqualFold compares as systemd's *_no_case functions do: only A-Z
// fold.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// clip shortens a string for a message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
