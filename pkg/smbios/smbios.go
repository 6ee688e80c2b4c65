// Package smbios reads SMBIOS structures the way Linux exposes them: one
// directory per structure, /sys/firmware/dmi/entries/T-N, whose "raw" file
// holds the structure as the firmware wrote it (formatted area, then the
// string set ending in a double NUL). The dmi-sysfs driver
// (CONFIG_DMI_SYSFS, module dmi-sysfs) provides it.
//
// The tables come from the firmware: on coreboot from the ROM, in a virtual
// machine from the host. The reader is strict and bounded: a structure that
// is truncated, lacks its terminating double NUL or is larger than
// MaxStructureSize is an error naming the file, never a panic, and the work
// is bounded by MaxStructures and MaxStructureSize.
package smbios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// EntriesDir is where Linux exposes the structures, relative to the root of
// the file system passed to ReadStructures (os.DirFS("/") on a running
// system).
const EntriesDir = "sys/firmware/dmi/entries"

// HeaderSize is the size of a structure's header: type, length, handle.
const HeaderSize = 4

// Limits on the work ReadStructures does for one type.
const (
	// MaxStructureSize bounds one raw file: a formatted area of at most
	// 255 bytes and a string set of at most 255 strings of a few hundred
	// bytes each fit with room to spare.
	MaxStructureSize = 64 << 10
	// MaxStructures bounds the structures of one type that are read.
	MaxStructures = 256
)

// ErrNoEntries reports that the file system has no EntriesDir: the kernel
// lacks dmi-sysfs (load the dmi-sysfs module) or the machine has no SMBIOS
// tables.
var ErrNoEntries = errors.New("no SMBIOS entries")

// Structure is one SMBIOS structure.
type Structure struct {
	// Type is the structure's type (0 BIOS, 1 system, 2 baseboard,
	// 3 enclosure, 11 OEM strings, ...).
	Type uint8
	// Handle is the structure's handle.
	Handle uint16
	// Formatted is the formatted area including the 4-byte header, so
	// that the offsets of the SMBIOS specification index it directly
	// (Formatted[1] is the length, len(Formatted) == Formatted[1]).
	Formatted []byte
	// Strings is the string set: Strings[0] is string number 1.
	Strings []string
	// Path names the file the structure was read from, as the user
	// knows it ("/sys/firmware/dmi/entries/11-0/raw").
	Path string
}

// String returns string number index (1-based, as the formatted area
// refers to strings); "" for index 0 (no string) and for an index out of
// range.
func (s Structure) String(index uint8) string {
	if index == 0 || int(index) > len(s.Strings) {
		return ""
	}
	return s.Strings[index-1]
}

// Byte returns the byte at offset off of the formatted area (offsets as in
// the SMBIOS specification, header included); ok is false when the
// structure is too short to hold it (an older SMBIOS version).
func (s Structure) Byte(off int) (b byte, ok bool) {
	if off < 0 || off >= len(s.Formatted) {
		return 0, false
	}
	return s.Formatted[off], true
}

// StringAt returns the string that the byte at offset off of the
// formatted area refers to; "" when the structure is too short, the byte
// is 0 or the index is out of range.
func (s Structure) StringAt(off int) string {
	b, ok := s.Byte(off)
	if !ok {
		return ""
	}
	return s.String(b)
}

// ReadStructures reads every structure of type typ from fsys (rooted at
// "/"), in table order (the instance number N of T-N). It returns
// ErrNoEntries (wrapped) when fsys has no EntriesDir, and no structures and
// no error when the directory has none of that type.
func ReadStructures(fsys fs.FS, typ uint8) ([]Structure, error) {
	dirents, err := fs.ReadDir(fsys, EntriesDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("/%s: %w (is the dmi-sysfs module loaded?)", EntriesDir, ErrNoEntries)
		}
		return nil, fmt.Errorf("/%s: %w", EntriesDir, pathErrReason(err))
	}
	instances, err := instancesOf(dirents, typ)
	if err != nil {
		return nil, err
	}
	out := make([]Structure, 0, len(instances))
	for _, inst := range instances {
		name := fmt.Sprintf("%s/%d-%d/raw", EntriesDir, typ, inst)
		s, err := readRaw(fsys, name)
		if err != nil {
			return nil, err
		}
		if s.Type != typ {
			return nil, fmt.Errorf("%s: structure of type %d in an entry of type %d", s.Path, s.Type, typ)
		}
		out = append(out, s)
	}
	return out, nil
}

// instancesOf returns the instance numbers of the entries named "typ-N",
// sorted.
func instancesOf(dirents []fs.DirEntry, typ uint8) ([]int, error) {
	prefix := strconv.Itoa(int(typ)) + "-"
	var instances []int
	for _, d := range dirents {
		rest, ok := strings.CutPrefix(d.Name(), prefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue // not an entry of this type ("1-x", "11-0" for type 1)
		}
		if len(instances) == MaxStructures {
			return nil, fmt.Errorf("/%s: more than %d structures of type %d", EntriesDir, MaxStructures, typ)
		}
		instances = append(instances, n)
	}
	sort.Ints(instances)
	return instances, nil
}

// readRaw reads and parses one raw file, reading at most MaxStructureSize+1
// bytes.
func readRaw(fsys fs.FS, name string) (Structure, error) {
	path := "/" + name
	f, err := fsys.Open(name)
	if err != nil {
		return Structure{}, fmt.Errorf("%s: %w", path, pathErrReason(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxStructureSize+1))
	if err != nil {
		return Structure{}, fmt.Errorf("%s: %w", path, pathErrReason(err))
	}
	if len(raw) > MaxStructureSize {
		return Structure{}, fmt.Errorf("%s: larger than %d bytes, not an SMBIOS structure", path, MaxStructureSize)
	}
	s, err := Parse(raw)
	if err != nil {
		return Structure{}, fmt.Errorf("%s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// pathErrReason drops the *fs.PathError wrapper, whose path is relative
// to the file system's root, so that an error names the file once, as
// "/sys/firmware/...".
func pathErrReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses one structure: the 4-byte header, the formatted area of the
// length the header gives, then the string set up to its double NUL.
// Bytes after the double NUL are an error (a raw file holds one structure).
// The returned structure does not share memory with raw.
func Parse(raw []byte) (Structure, error) {
	if len(raw) > MaxStructureSize {
		return Structure{}, fmt.Errorf("structure of %d bytes, more than %d", len(raw), MaxStructureSize)
	}
	if len(raw) < HeaderSize {
		return Structure{}, fmt.Errorf("truncated: %d bytes, shorter than the %d-byte header", len(raw), HeaderSize)
	}
	length := int(raw[1])
	if length < HeaderSize {
		return Structure{}, fmt.Errorf("header gives a length of %d, shorter than the header", length)
	}
	if length > len(raw) {
		return Structure{}, fmt.Errorf("truncated: header gives a length of %d, the file has %d bytes", length, len(raw))
	}
	strs, err := parseStrings(raw[length:])
	if err != nil {
		return Structure{}, err
	}
	return Structure{
		Type:      raw[0],
		Handle:    uint16(raw[2]) | uint16(raw[3])<<8,
		Formatted: bytes.Clone(raw[:length]),
		Strings:   strs,
	}, nil
}

// parseStrings parses a string set: NUL-terminated strings followed by a
// NUL, or two NULs for an empty set.
func parseStrings(set []byte) ([]string, error) {
	if len(set) < 2 {
		return nil, errors.New("truncated: no double NUL after the formatted area")
	}
	if set[0] == 0 {
		if set[1] != 0 {
			return nil, errors.New("empty string set not ended by a double NUL")
		}
		if len(set) != 2 {
			return nil, fmt.Errorf("%d bytes after the double NUL", len(set)-2)
		}
		return nil, nil
	}
	end := bytes.Index(set, []byte{0, 0})
	if end < 0 {
		return nil, errors.New("truncated: string set not ended by a double NUL")
	}
	if rest := len(set) - (end + 2); rest != 0 {
		return nil, fmt.Errorf("%d bytes after the double NUL", rest)
	}
	strs := strings.Split(string(set[:end]), "\x00")
	if len(strs) > 255 {
		return nil, fmt.Errorf("%d strings, more than the 255 a structure can refer to", len(strs))
	}
	return strs, nil
}
