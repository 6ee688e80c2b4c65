// Package uki reads Unified Kernel Images (UAPI.5) and UKI addons: PE32+
// files whose sections carry a kernel, initrd, command line, os-release and
// more.
//
// A File is opened from an io.ReaderAt. Opening reads and validates the
// headers and the section table, and the small .profile sections; the
// contents of every other section are read only when asked for, through
// io.SectionReaders, so listing a 200 MiB UKI reads a few kilobytes.
//
// Section data is VirtualSize bytes long, as systemd-stub sees it in memory:
// raw data beyond VirtualSize is file-alignment padding and is cut, and a
// VirtualSize larger than SizeOfRawData is filled with zeros. Where the
// memory ranges of two sections overlap (which UEFI firmware accepts, and
// ukify makes from a systemd 252 stub), the later section's bytes replace
// the earlier one's, as firmware loading the sections in table order
// leaves them.
package uki

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// Section names of the UKI specification.
const (
	SectionLinux   = ".linux"
	SectionOSRel   = ".osrel"
	SectionCmdline = ".cmdline"
	SectionInitrd  = ".initrd"
	SectionUcode   = ".ucode"
	SectionSplash  = ".splash"
	SectionDTB     = ".dtb"
	SectionDTBAuto = ".dtbauto"
	SectionHWIDs   = ".hwids"
	SectionEFIFW   = ".efifw"
	SectionUname   = ".uname"
	SectionSBAT    = ".sbat"
	SectionPCRSig  = ".pcrsig"
	SectionPCRPKey = ".pcrpkey"
	SectionProfile = ".profile"
)

// KnownSections lists the sections of the UKI specification.
var KnownSections = []string{
	SectionLinux, SectionOSRel, SectionCmdline, SectionInitrd, SectionUcode,
	SectionSplash, SectionDTB, SectionDTBAuto, SectionHWIDs, SectionEFIFW,
	SectionUname, SectionSBAT, SectionPCRSig, SectionPCRPKey, SectionProfile,
}

// IsKnownSection reports whether name is a section of the UKI specification.
func IsKnownSection(name string) bool {
	for _, k := range KnownSections {
		if k == name {
			return true
		}
	}
	return false
}

// IsRepeatable reports whether a section may appear more than once in one
// profile (.dtbauto and .efifw).
func IsRepeatable(name string) bool { return name == SectionDTBAuto || name == SectionEFIFW }

// addonSections are the sections of which an addon must carry at least one.
var addonSections = []string{SectionCmdline, SectionDTB, SectionDTBAuto, SectionUcode, SectionInitrd}

// MaxProfiles is the largest number of profiles a UKI may have.
const MaxProfiles = 256

// MaxTextSize bounds text sections (.osrel, .cmdline, .uname, .profile)
// read into memory.
const MaxTextSize = 1 << 20

// Kind says whether a file is a UKI or an addon.
type Kind int

const (
	// KindAuto asks Read to decide: a file with .linux is a UKI, a file
	// with addon sections and no .linux is an addon.
	KindAuto Kind = iota
	KindUKI
	KindAddon
)

func (k Kind) String() string {
	switch k {
	case KindUKI:
		return "uki"
	case KindAddon:
		return "addon"
	}
	return "auto"
}

// Section is one section of the file.
type Section struct {
	SectionHeader
	// Index is the position in the section table.
	Index int
	// Profile is the profile this section belongs to: -1 for the base
	// (sections before the first .profile), else 0, 1, ...
	Profile int

	r io.ReaderAt
	// overlays are the later sections whose memory ranges overlap this
	// one's, in table order: loading them overwrites part of this one.
	overlays []*Section
}

// Size is the length of the section's data: VirtualSize.
func (s *Section) Size() int64 { return int64(s.VirtualSize) }

// FileSize is how many bytes of the data come from the file; the rest, up
// to Size, are zeros.
func (s *Section) FileSize() int64 { return int64(min(s.VirtualSize, s.SizeOfRawData)) }

// Open returns a reader over the section's Size bytes of data, as they are
// in memory once UEFI firmware loaded the image (EDK2 BasePeCoffLib
// PeCoffLoaderLoadImage copies the sections in table order, so a later
// section whose memory range overlaps this one's replaces those bytes;
// systemd-stub measures and uses the memory). Without such an overlap the
// data are the section's own bytes of the file.
func (s *Section) Open() *io.SectionReader {
	if len(s.overlays) == 0 {
		return io.NewSectionReader(s.own(), 0, s.Size())
	}
	return io.NewSectionReader(&loaded{s: s}, 0, s.Size())
}

// OverlaidBy returns the indexes of the later sections whose memory ranges
// overlap this section's, in table order.
func (s *Section) OverlaidBy() []int {
	var out []int
	for _, o := range s.overlays {
		out = append(out, o.Index)
	}
	return out
}

// own reads the section's own bytes as loading writes them: the file data,
// then zeros up to its loaded length.
func (s *Section) own() *zeroTail {
	return &zeroTail{r: s.r, off: int64(s.PointerToRawData), n: int64(min(loadedLen(s.SectionHeader), s.SizeOfRawData))}
}

// loaded reads a section with the bytes of its overlays written over its
// own, later overlays last.
type loaded struct{ s *Section }

func (l *loaded) ReadAt(p []byte, off int64) (int, error) {
	n, err := l.s.own().ReadAt(p, off)
	if err != nil {
		return n, err
	}
	base := int64(l.s.VirtualAddress) + off // memory address of p[0]
	for _, o := range l.s.overlays {
		start := max(base, int64(o.VirtualAddress))
		end := min(base+int64(len(p)), int64(o.VirtualAddress)+int64(loadedLen(o.SectionHeader)))
		if start >= end {
			continue
		}
		if _, err := o.own().ReadAt(p[start-base:end-base], start-int64(o.VirtualAddress)); err != nil {
			return 0, fmt.Errorf("reading section %d (%s), which is loaded over %s: %w", o.Index, o.Name, l.s.Name, err)
		}
	}
	return n, nil
}

// ReadAll reads the whole section if it is at most max bytes long.
func (s *Section) ReadAll(max int64) ([]byte, error) {
	if s.Size() > max {
		return nil, errorf(ErrSectionTooLarge, "%s is %d bytes, limit %d", s.Name, s.Size(), max)
	}
	b := make([]byte, s.Size())
	if _, err := io.ReadFull(s.Open(), b); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Name, err)
	}
	return b, nil
}

// zeroTail reads n bytes of r at off, then zeros.
type zeroTail struct {
	r   io.ReaderAt
	off int64
	n   int64
}

func (z *zeroTail) ReadAt(p []byte, off int64) (int, error) {
	total := 0
	if off < z.n {
		want := min(int64(len(p)), z.n-off)
		n, err := z.r.ReadAt(p[:want], z.off+off)
		total += n
		if int64(n) < want {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return total, err
		}
		off += want
		p = p[want:]
	}
	clear(p)
	return total + len(p), nil
}

// Profile is the effective set of sections of one profile: the base
// sections, overridden by the profile's own sections of the same name.
type Profile struct {
	// Number is the profile number, as selected with "@N".
	Number int
	// ID and Title are from the .profile section; empty for the implicit
	// profile 0 of a UKI without .profile sections.
	ID, Title string
	// Info is the whole parsed .profile section; nil when there is none.
	Info *OSRelease
	// Sections are the effective sections: base sections not overridden,
	// in table order, then the profile's own. Sections with VirtualSize 0
	// are left out: they mask the base section of the same name.
	Sections  []*Section
	base, own []*Section
}

// Layers returns the base sections and the profile's own sections (its
// .profile and those after it), each in table order, zero-sized ones
// included. systemd-stub locates sections in the base, then lets the
// profile's override them (find_sections); for .dtbauto, which it chooses
// by matching, a profile's .dtbauto that matches nothing leaves the base's
// choice in place.
func (p *Profile) Layers() (base, own []*Section) { return p.base, p.own }

// Section returns the effective section called name, or nil.
func (p *Profile) Section(name string) *Section {
	for _, s := range p.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SectionsNamed returns every effective section called name, in table order
// (more than one only for .dtbauto and .efifw).
func (p *Profile) SectionsNamed(name string) []*Section {
	var out []*Section
	for _, s := range p.Sections {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// File is an opened UKI or addon.
type File struct {
	Name   string // as given to Open or Read; used in errors
	Size   int64
	Kind   Kind
	Header *Header
	// Sections lists every section, in table order.
	Sections []*Section
	// Overlaps lists the sections whose memory ranges overlap (file
	// ranges never do: Read refuses that).
	Overlaps []Overlap

	profiles []*Profile
	r        io.ReaderAt
	closer   io.Closer
}

// Open opens the file at path and reads it with Read.
func Open(path string, want Kind) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, &FormatError{File: path, Err: ErrNotPE, Detail: "not a regular file"}
	}
	f, err := Read(fd, st.Size(), path, want)
	if err != nil {
		fd.Close()
		return nil, err
	}
	f.closer = fd
	return f, nil
}

// Close closes the underlying file if the File was made by Open.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// ReaderAt returns the reader the File was read from.
func (f *File) ReaderAt() io.ReaderAt { return f.r }

// Read parses a UKI (want KindUKI), an addon (KindAddon) or either
// (KindAuto) of size bytes from r. name is used in error messages.
func Read(r io.ReaderAt, size int64, name string, want Kind) (*File, error) {
	f, err := read(r, size, name, want)
	if err != nil {
		return nil, withFile(err, name)
	}
	return f, nil
}

func read(r io.ReaderAt, size int64, name string, want Kind) (*File, error) {
	h, hdrs, err := parseHeaders(r, size)
	if err != nil {
		return nil, err
	}
	overlaps, err := memoryOverlaps(hdrs)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name, Size: size, Header: h, Overlaps: overlaps, r: r}
	profile := -1
	for i, sh := range hdrs {
		if sh.Name == SectionProfile {
			profile++
		}
		f.Sections = append(f.Sections, &Section{SectionHeader: sh, Index: i, Profile: profile, r: r})
	}
	for _, o := range overlaps {
		f.Sections[o.Earlier].overlays = append(f.Sections[o.Earlier].overlays, f.Sections[o.Later])
	}
	if profile+1 > MaxProfiles {
		return nil, errorf(ErrProfile, "%d profiles, at most %d are allowed", profile+1, MaxProfiles)
	}
	if err := f.checkDuplicates(); err != nil {
		return nil, err
	}
	if err := f.checkKind(want); err != nil {
		return nil, err
	}
	if err := f.buildProfiles(); err != nil {
		return nil, err
	}
	if f.Kind == KindUKI {
		for _, p := range f.profiles {
			if p.Section(SectionLinux) == nil {
				return nil, errorf(ErrNoLinux, "profile %d has no .linux section", p.Number)
			}
		}
	}
	if err := f.checkCertTable(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkDuplicates rejects a UKI section that appears twice in the base or in
// one profile (except the repeatable .dtbauto and .efifw).
func (f *File) checkDuplicates() error {
	seen := map[string]*Section{}
	cur := -1
	for _, s := range f.Sections {
		if s.Profile != cur {
			cur = s.Profile
			clear(seen)
		}
		if !IsKnownSection(s.Name) || IsRepeatable(s.Name) {
			continue
		}
		if prev, ok := seen[s.Name]; ok {
			where := "the base"
			if cur >= 0 {
				where = fmt.Sprintf("profile %d", cur)
			}
			return errorf(ErrDuplicate, "%s appears twice in %s (sections %d and %d)", s.Name, where, prev.Index, s.Index)
		}
		seen[s.Name] = s
	}
	return nil
}

func (f *File) has(names ...string) bool {
	for _, s := range f.Sections {
		for _, n := range names {
			if s.Name == n && s.VirtualSize > 0 {
				return true
			}
		}
	}
	return false
}

func (f *File) checkKind(want Kind) error {
	hasLinux := f.has(SectionLinux)
	hasAddon := f.has(addonSections...)
	switch want {
	case KindUKI:
		if !hasLinux {
			return errorf(ErrNoLinux, "not a UKI")
		}
		f.Kind = KindUKI
	case KindAddon:
		if hasLinux {
			return errorf(ErrAddonHasLinux, "addons must not carry a kernel")
		}
		if !hasAddon {
			return errorf(ErrAddonEmpty, "")
		}
		f.Kind = KindAddon
	default:
		switch {
		case hasLinux:
			f.Kind = KindUKI
		case hasAddon:
			f.Kind = KindAddon
		default:
			return errorf(ErrNoLinux, "neither a UKI nor an addon (no .linux, .cmdline, .dtb, .dtbauto, .ucode or .initrd)")
		}
	}
	return nil
}

func (f *File) buildProfiles() error {
	var base []*Section
	var starts []int
	for i, s := range f.Sections {
		if s.Profile < 0 {
			base = append(base, s)
		} else if s.Name == SectionProfile {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		f.profiles = []*Profile{{Number: 0, Sections: effective(base, nil), base: base}}
		return nil
	}
	for n, start := range starts {
		end := len(f.Sections)
		if n+1 < len(starts) {
			end = starts[n+1]
		}
		own := f.Sections[start:end]
		p := &Profile{Number: n, Sections: effective(base, own), base: base, own: own}
		ps := f.Sections[start]
		if ps.VirtualSize > 0 {
			text, err := readText(ps)
			if err != nil {
				return errorf(ErrProfile, "profile %d: %v", n, err)
			}
			info, err := ParseOSRelease([]byte(text))
			if err != nil {
				return errorf(ErrProfile, "profile %d: %v", n, err)
			}
			p.Info = info
			p.ID = info.Get("ID")
			p.Title = info.Get("TITLE")
		}
		f.profiles = append(f.profiles, p)
	}
	return nil
}

// effective merges base and a profile's own sections: for each name the
// profile carries, its sections replace the base's; sections with
// VirtualSize 0 count as absent (and so mask the base).
func effective(base, own []*Section) []*Section {
	override := map[string]bool{}
	for _, s := range own {
		override[s.Name] = true
	}
	var out []*Section
	for _, list := range [][]*Section{base, own} {
		for _, s := range list {
			if s.VirtualSize == 0 || (s.Profile < 0 && override[s.Name]) {
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// NumProfiles returns the number of profiles; a UKI without .profile sections
// has one, the implicit profile 0.
func (f *File) NumProfiles() int { return len(f.profiles) }

// HasProfiles reports whether the file has .profile sections.
func (f *File) HasProfiles() bool {
	for _, s := range f.Sections {
		if s.Name == SectionProfile {
			return true
		}
	}
	return false
}

// Profile returns profile n. Profile 0 always exists.
func (f *File) Profile(n int) (*Profile, error) {
	if n < 0 || n >= len(f.profiles) {
		return nil, &FormatError{File: f.Name, Err: ErrNoProfile, Detail: fmt.Sprintf("profile %d of %d", n, len(f.profiles))}
	}
	return f.profiles[n], nil
}

// Profiles returns every profile, in order.
func (f *File) Profiles() []*Profile { return f.profiles }

// Section returns the effective section called name of profile 0, or nil.
func (f *File) Section(name string) *Section { return f.profiles[0].Section(name) }

// readText reads a text section: at most MaxTextSize bytes, cut at the
// first NUL. The bytes are not required to be UTF-8 (neither systemd-boot
// nor systemd-stub require it; the os-release parser checks keys and
// values it uses).
func readText(s *Section) (string, error) {
	b, err := s.ReadAll(MaxTextSize)
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b), nil
}

// Text returns the text of the effective section name of profile p, without
// a trailing NUL; "" when the section is absent.
func (f *File) Text(p *Profile, name string) (string, error) {
	s := p.Section(name)
	if s == nil {
		return "", nil
	}
	t, err := readText(s)
	return t, withFile(err, f.Name)
}

// OSRelease parses the .osrel section of profile p; nil when absent.
func (f *File) OSRelease(p *Profile) (*OSRelease, error) {
	s := p.Section(SectionOSRel)
	if s == nil {
		return nil, nil
	}
	t, err := readText(s)
	if err != nil {
		return nil, withFile(err, f.Name)
	}
	o, err := ParseOSRelease([]byte(t))
	return o, withFile(err, f.Name)
}

// Uname returns the .uname of profile p, trimmed of whitespace.
func (f *File) Uname(p *Profile) (string, error) {
	t, err := f.Text(p, SectionUname)
	return strings.TrimSpace(t), err
}

// Cmdline returns the .cmdline of profile p with trailing NULs and
// whitespace removed (the stub's own mangling is done by the boot plan).
func (f *File) Cmdline(p *Profile) (string, error) {
	t, err := f.Text(p, SectionCmdline)
	return strings.TrimRight(t, " \t\r\n"), err
}
