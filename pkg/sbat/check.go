package sbat

import (
	"fmt"
	"io"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// RevokedError is an image entry whose generation is below the one the
// level requires. It matches ErrRevoked.
type RevokedError struct {
	Component  string
	Generation uint16 // the image's
	Required   uint16 // the level's
}

func (e *RevokedError) Error() string {
	return fmt.Sprintf("SBAT: %s generation %d is revoked (SbatLevel requires %d)", e.Component, e.Generation, e.Required)
}

// Unwrap makes errors.Is(err, ErrRevoked) true.
func (e *RevokedError) Unwrap() error { return ErrRevoked }

// Check decides whether an image with these .sbat entries may run under
// level, as shim's verify_sbat_helper does: every entry whose component the
// level names must have at least the level's generation; the first entry
// that does not is returned as a *RevokedError. Components the level does
// not name are not checked. A nil or empty level allows everything; under
// any other level an image without entries is refused (ErrNoSection).
func Check(entries []Entry, level *Level) error {
	if level.Len() == 0 {
		return nil
	}
	if len(entries) == 0 {
		return fmt.Errorf("SBAT: %w: the image has no SBAT entries and an SbatLevel is set", ErrNoSection)
	}
	for _, e := range entries {
		if req, ok := level.Required(e.Component); ok && e.Generation < req {
			return &RevokedError{Component: e.Component, Generation: e.Generation, Required: req}
		}
	}
	return nil
}

// CheckImage checks the .sbat section of a UKI or addon against level:
// nil when the image may run, else an error that says why, starting with
// "SBAT: " (it does not name the file: callers do). A nil or empty level
// checks nothing and reads nothing. Otherwise the image must have exactly
// one usable .sbat section (see ReadImage) that parses and passes Check.
func CheckImage(f *uki.File, level *Level) error {
	if level.Len() == 0 {
		return nil
	}
	entries, err := ReadImage(f)
	if err != nil {
		return err
	}
	return Check(entries, level)
}

// ReadImage reads and parses the .sbat section of f the way shim's
// verify_buffer_sbat finds it. Every section of the table counts, whatever
// profile of a multi-profile UKI it is in: shim walks the whole section
// table and knows nothing of profiles, so a UKI with a .sbat in a profile
// as well as in the base is refused, as shim refuses it ("multiple SBAT
// sections"; ukify writes .sbat only in the base). A .sbat with
// relocations is refused. A section whose SizeOfRawData is 0 or less than
// its VirtualSize is ignored by shim, so it counts as missing
// (ErrNoSection). The data parsed are the SizeOfRawData bytes in the
// file, as shim reads them (the text ends at its first NUL, which is
// normally where the alignment padding starts).
func ReadImage(f *uki.File) ([]Entry, error) {
	var found []*uki.Section
	for _, s := range f.Sections {
		if s.Name == uki.SectionSBAT {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("SBAT: %w: the image has none and an SbatLevel is set (shim refuses such images)", ErrNoSection)
	case 1:
	default:
		return nil, fmt.Errorf("SBAT: %w: %d .sbat sections (sections %d and %d); shim refuses an image with more than one",
			ErrMalformed, len(found), found[0].Index, found[1].Index)
	}
	s := found[0]
	if n, p := s.NumberOfRelocations, s.PointerToRelocations; n != 0 || p != 0 {
		return nil, fmt.Errorf("SBAT: %w: .sbat (section %d) has relocations (%d at 0x%x); shim refuses it", ErrMalformed, s.Index, n, p)
	}
	if s.SizeOfRawData == 0 || s.SizeOfRawData < s.VirtualSize {
		return nil, fmt.Errorf("SBAT: %w: .sbat (section %d) has SizeOfRawData 0x%x and VirtualSize 0x%x; shim ignores a section with less data in the file than in memory",
			ErrNoSection, s.Index, s.SizeOfRawData, s.VirtualSize)
	}
	if s.SizeOfRawData > MaxSize {
		return nil, fmt.Errorf("SBAT: %w: .sbat is %d bytes, more than the limit of %d", ErrMalformed, s.SizeOfRawData, MaxSize)
	}
	data := make([]byte, s.SizeOfRawData)
	if _, err := io.ReadFull(io.NewSectionReader(f.ReaderAt(), int64(s.PointerToRawData), int64(s.SizeOfRawData)), data); err != nil {
		return nil, fmt.Errorf("SBAT: reading .sbat: %w", err)
	}
	entries, err := ParseSection(data)
	if err != nil {
		return nil, fmt.Errorf("SBAT: .sbat section: %w", err)
	}
	return entries, nil
}
