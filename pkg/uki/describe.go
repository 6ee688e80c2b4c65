package uki

import (
	"fmt"
	"strings"
)

// Info describes a file for people and for JSON output (snake_case names
// are a stable interface).
type Info struct {
	Kind         string            `json:"kind"`
	Machine      string            `json:"machine"`
	Size         int64             `json:"size"`
	Sections     []SectionInfo     `json:"sections"`
	Profiles     []ProfileInfo     `json:"profiles"`
	OSRelease    map[string]string `json:"os_release,omitempty"`
	Uname        string            `json:"uname,omitempty"`
	Cmdline      string            `json:"cmdline,omitempty"`
	Signatures   int               `json:"signatures"`
	Certificates []CertInfo        `json:"certificates,omitempty"`
	// Stub is the stub's own name and version from its .sdmagic section
	// ("systemd-stub 252.39-1~deb12u2"); PCR 11 is what that stub
	// measures.
	Stub string `json:"stub,omitempty"`
	// Notes are facts about the layout a person should know, such as
	// sections whose memory ranges overlap.
	Notes []string `json:"notes,omitempty"`

	// OSReleaseFields keeps os-release in file order for text output.
	OSReleaseFields []Field `json:"-"`
}

// SectionInfo describes one section-table entry.
type SectionInfo struct {
	Index          int    `json:"index"`
	Name           string `json:"name"`
	Offset         uint32 `json:"offset"`
	VirtualSize    uint32 `json:"virtual_size"`
	RawSize        uint32 `json:"raw_size"`
	VirtualAddress uint32 `json:"virtual_address"`
	// Profile is -1 for base sections.
	Profile int `json:"profile"`
}

// ProfileInfo describes one profile.
type ProfileInfo struct {
	Number   int      `json:"number"`
	ID       string   `json:"id,omitempty"`
	Title    string   `json:"title,omitempty"`
	Cmdline  string   `json:"cmdline,omitempty"`
	Sections []string `json:"sections"`
}

// CertInfo describes one WIN_CERTIFICATE entry.
type CertInfo struct {
	Offset int64  `json:"offset"`
	Length uint32 `json:"length"`
	Type   string `json:"type"`
}

// Describe collects what -inspect shows. It reads headers and the small
// text sections only.
func (f *File) Describe() (*Info, error) {
	in := &Info{
		Kind:    f.Kind.String(),
		Machine: f.Header.Machine.String(),
		Size:    f.Size,
	}
	for _, s := range f.Sections {
		in.Sections = append(in.Sections, SectionInfo{
			Index: s.Index, Name: s.Name, Offset: s.PointerToRawData, VirtualSize: s.VirtualSize,
			RawSize: s.SizeOfRawData, VirtualAddress: s.VirtualAddress, Profile: s.Profile,
		})
	}
	in.Stub = f.StubVersion()
	for _, o := range f.Overlaps {
		in.Notes = append(in.Notes, f.overlapNote(o))
	}
	for _, p := range f.profiles {
		pi := ProfileInfo{Number: p.Number, ID: p.ID, Title: p.Title, Sections: []string{}}
		for _, s := range p.Sections {
			if IsKnownSection(s.Name) {
				pi.Sections = append(pi.Sections, s.Name)
			}
		}
		cl, err := f.Cmdline(p)
		if err != nil {
			return nil, err
		}
		pi.Cmdline = cl
		in.Profiles = append(in.Profiles, pi)
	}
	p := f.profiles[0]
	o, err := f.OSRelease(p)
	if err != nil {
		return nil, err
	}
	if o != nil {
		in.OSReleaseFields = o.Fields
		in.OSRelease = map[string]string{}
		for _, fl := range o.Fields {
			in.OSRelease[fl.Key] = fl.Value
		}
	}
	if in.Uname, err = f.Uname(p); err != nil {
		return nil, err
	}
	if in.Cmdline, err = f.Cmdline(p); err != nil {
		return nil, err
	}
	certs, err := f.Certificates()
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		in.Certificates = append(in.Certificates, CertInfo{Offset: c.Offset, Length: c.Length, Type: CertTypeName(c.Type)})
		if c.Type == CertTypePKCSSignedData {
			in.Signatures++
		}
	}
	return in, nil
}

// overlapNote says what an overlap of memory ranges means.
func (f *File) overlapNote(o Overlap) string {
	a, b := f.Sections[o.Earlier], f.Sections[o.Later]
	return fmt.Sprintf("memory ranges of sections %d (%s) and %d (%s) overlap at 0x%x..0x%x: UEFI firmware loads %s over part of %s, "+
		"and systemd-stub sees (and measures) %s with those bytes, so ukiboot reads it the same way; the file ranges do not overlap",
		a.Index, a.Name, b.Index, b.Name, o.Start, o.End, b.Name, a.Name, a.Name)
}

// StubVersion returns the stub's name and version as its .sdmagic section
// says them ("#### LoaderInfo: systemd-stub 252.39-1~deb12u2 ####"), or
// "" when there is none.
func (f *File) StubVersion() string {
	for _, s := range f.Sections {
		if s.Name != ".sdmagic" || s.Size() > 256 {
			continue
		}
		b, err := s.ReadAll(256)
		if err != nil {
			return ""
		}
		t, _, _ := strings.Cut(string(b), "\x00")
		t, ok := strings.CutPrefix(t, "#### LoaderInfo: ")
		if t, ok2 := strings.CutSuffix(t, " ####"); ok && ok2 && isPrintable(t) {
			return t
		}
	}
	return ""
}

func isPrintable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return s != ""
}
