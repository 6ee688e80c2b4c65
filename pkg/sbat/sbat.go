// Package sbat checks the SBAT metadata of UKIs and addons against an
// SbatLevel, as shim does under UEFI Secure Boot.
//
// SBAT (Secure Boot Advanced Targeting, rhboot/shim's SBAT.md) is how
// distributions revoke signed boot components without adding to dbx. Every
// signed image carries a .sbat section: CSV lines of
//
//	component_name,component_generation,vendor_name,vendor_package_name,vendor_version,vendor_url
//
// the first one "sbat,1,..." (the version of the format). When a component
// has a vulnerability its generation is raised in fixed builds, and the
// machine's SbatLevel (the revocation list shim keeps in the SbatLevel
// variable and shows the OS as SbatLevelRT) names the lowest generation of
// each component that may still run:
//
//	sbat,1,2024010900
//	shim,4
//	grub,3
//	grub.debian,4
//
// An image is refused when one of its entries names a component of the
// level with a lower generation. Since old signed images stay signed
// forever, this is the defence against booting an old, vulnerable UKI.
//
// The rules are shim's (csv.c parse_csv_data, sbat.c parse_sbat_section,
// parse_sbat_var_data and verify_sbat_helper, verify.c verify_buffer_sbat,
// pe.c verify_sbat_section), stricter where shim is lenient, so that text
// that could be read two ways is refused rather than guessed at:
//
//   - The text ends at its first NUL byte (what follows is not read, as shim
//     reads a C string); a leading UTF-8 byte-order mark is skipped. Lines
//     end at any run of CR and LF; empty lines are skipped. Fields are
//     separated by commas; there is no quoting or escaping and no trimming
//     of blanks.
//   - An image entry needs at least six fields, none empty; fields after
//     the sixth are ignored, as shim ignores them.
//   - A generation is a decimal number from 0 to 65535 and nothing else.
//     (Stricter than shim: its atoi reads " 3x" as 3 and anything else as
//     0, and compares 16-bit values, so 65537 would be 1.) A component name
//     is printable ASCII without blanks (stricter than shim, which compares
//     any bytes).
//   - The first entry of an image must be the "sbat" entry, and an image
//     must have at least one entry (stricter than shim, which accepts an
//     empty or all-NUL .sbat and does not look for the "sbat" entry;
//     SBAT.md requires it and every tool writes it).
//   - The "sbat" entry is checked like any other component: the level's
//     "sbat,N" refuses images whose own "sbat" generation is below N.
//   - An image is checked only when a level is set (shim: no entries in the
//     SbatLevel, no check). With a level set, an image without a usable
//     .sbat section is refused, as shim refuses images it loads itself.
//     (Images verified for other loaders through shim's protocol may go
//     without; ukiboot loads everything itself.)
//
// Levels are read from several places (the ROM, -sbatlevel, SbatLevelRT);
// Merge combines them so that the strictest wins for every component.
//
// Work is bounded: sections and levels over MaxSize bytes or MaxEntries
// lines are refused before they are parsed.
package sbat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Limits on the data this package reads. Real .sbat sections and levels
// are well under a kilobyte; shim itself has no limit but its memory.
const (
	// MaxSize is the largest .sbat section (SizeOfRawData) or level text
	// accepted, in bytes.
	MaxSize = 1 << 20
	// MaxEntries is the largest number of lines accepted in one .sbat
	// section or level.
	MaxEntries = 4096
)

// SBATComponent is the component whose generation is the version of the
// SBAT format itself; it is the first entry of every .sbat section and of
// every level.
const SBATComponent = "sbat"

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	// ErrMalformed is SBAT text that does not follow the format.
	ErrMalformed = errors.New("malformed SBAT data")
	// ErrNoSection is an image without a usable .sbat section checked
	// against a level.
	ErrNoSection = errors.New("no .sbat section")
	// ErrRevoked is an image a level revokes; the error is a *RevokedError.
	ErrRevoked = errors.New("revoked by SbatLevel")
)

// Entry is one line of an image's .sbat section.
type Entry struct {
	Component  string
	Generation uint16
	Vendor     string // vendor_name
	Package    string // vendor_package_name
	Version    string // vendor_version
	URL        string // vendor_url
	// Line is the line of the section the entry was read from (1-based).
	Line int
}

// SyntaxError is SBAT text that does not follow the format. It matches
// ErrMalformed.
type SyntaxError struct {
	Line int // 1-based; 0 when the error is about the text as a whole
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *SyntaxError) Unwrap() error { return ErrMalformed }

func syntaxf(line int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// sectionFields are the fields of an image entry, in order.
const sectionFields = 6

// ParseSection parses the contents of a .sbat section (the raw data, NUL
// padding included). It returns the entries in order, or a *SyntaxError.
func ParseSection(data []byte) ([]Entry, error) {
	lines, err := splitLines(data)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, syntaxf(0, "no entries (the first must be %q)", SBATComponent+",1,...")
	}
	entries := make([]Entry, 0, len(lines))
	for i, l := range lines {
		if len(l.fields) < sectionFields {
			return nil, syntaxf(l.num, "%d fields, an entry has %d: component,generation,vendor,package,version,url", len(l.fields), sectionFields)
		}
		f := l.fields[:sectionFields]
		for j, v := range f {
			if len(v) == 0 {
				return nil, syntaxf(l.num, "field %d is empty", j+1)
			}
		}
		e := Entry{
			Vendor:  string(f[2]),
			Package: string(f[3]),
			Version: string(f[4]),
			URL:     string(f[5]),
			Line:    l.num,
		}
		if e.Component, e.Generation, err = componentGeneration(l.num, f[0], f[1]); err != nil {
			return nil, err
		}
		if i == 0 && e.Component != SBATComponent {
			return nil, syntaxf(l.num, "the first entry is %q, it must be %q", e.Component, SBATComponent)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// componentGeneration checks and converts the first two fields of a line.
func componentGeneration(line int, name, gen []byte) (string, uint16, error) {
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return "", 0, syntaxf(line, "component name %q is not printable ASCII without blanks", name)
		}
	}
	g, err := parseGeneration(gen)
	if err != nil {
		return "", 0, syntaxf(line, "component %s: generation %q is not a number from 0 to 65535", name, gen)
	}
	return string(name), g, nil
}

// parseGeneration accepts decimal digits only (no sign, no blanks), with a
// value that fits the 16 bits shim compares.
func parseGeneration(b []byte) (uint16, error) {
	n, err := strconv.ParseUint(string(b), 10, 16)
	return uint16(n), err
}

// line is one non-empty line of SBAT text, split at commas.
type line struct {
	num    int
	fields [][]byte
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// splitLines cuts SBAT text into lines and fields as shim's parse_csv_data
// does: the text ends at the first NUL, a UTF-8 BOM at the start is
// skipped, lines end at CR or LF, empty lines are skipped. Line numbers
// count LF, CR LF and a lone CR as one line end each.
func splitLines(data []byte) ([]line, error) {
	if len(data) > MaxSize {
		return nil, syntaxf(0, "%d bytes, more than the limit of %d", len(data), MaxSize)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	var out []line
	num := 1
	for len(data) > 0 {
		end := bytes.IndexAny(data, "\r\n")
		if end < 0 {
			end = len(data)
		}
		if end > 0 {
			if len(out) == MaxEntries {
				return nil, syntaxf(num, "more than %d lines", MaxEntries)
			}
			// Fields after the sixth are never read: keep them as one.
			out = append(out, line{num: num, fields: bytes.SplitN(data[:end], []byte{','}, sectionFields+1)})
		}
		data = data[end:]
		switch {
		case bytes.HasPrefix(data, []byte("\r\n")):
			data = data[2:]
		case len(data) > 0:
			data = data[1:]
		}
		num++
	}
	return out, nil
}
