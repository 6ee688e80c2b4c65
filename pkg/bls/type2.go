package bls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// loadType2 reads the type #2 entries of a partition: the UKIs in
// /EFI/Linux, one entry per profile (boot.c: config_load_type2_entries).
func loadType2(c *Config, part *Root, o Options) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, Type2Dir, ".efi") {
		out = append(out, type2Entries(part, name, o)...)
	}
	return out
}

// type2Entries makes one entry per profile of a UKI, as boot.c:
// boot_entry_add_type2 does. systemd-boot skips (here: hides) a file that
// is not a PE image for this CPU (pe.c: pe_section_table_from_file checks
// the COFF machine), and each profile without .osrel or whose .osrel
// names nothing. A PE file ukiboot cannot use as a UKI gives one invalid
// entry.
func type2Entries(part *Root, name string, o Options) []*Entry {
	base := newEntry(part, Type2Dir, name, ".efi", Type2)
	base.UKI = base.Path
	base.Title = name
	fail := func(err error) []*Entry {
		base.Status, base.Err = StatusInvalid, err
		return []*Entry{base}
	}
	f, st, err := part.openStat(base.Path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	return ukiEntries(base, f, st.Size(), o)
}

// ukiEntries makes the entries of the UKI read through r (size bytes),
// one per profile, from base (its file's entry): the part of
// type2Entries that reads the file, shared with the -url entries.
func ukiEntries(base *Entry, r io.ReaderAt, size int64, o Options) []*Entry {
	m, err := peMachine(r)
	if err != nil {
		base.skip(err.Error(), "systemd-boot skips it")
		return []*Entry{base}
	}
	if arch := EFIArch(m.GOARCH()); !strings.EqualFold(arch, o.Arch) {
		base.skip(fmt.Sprintf("built for %s, this machine is %s", machineName(m), o.Arch), "systemd-boot skips UKIs for another CPU")
		return []*Entry{base}
	}
	u, err := o.readUKI(r, size, base.DisplayPath())
	if err != nil {
		base.Status, base.Err = StatusInvalid, err
		return []*Entry{base}
	}
	var out []*Entry
	texts := &ukiTexts{u: u, parsed: map[*uki.Section]*uki.OSRelease{}, mangled: map[*uki.Section]string{}}
	for _, p := range u.Profiles() {
		out = append(out, profileEntry(base, texts, p))
	}
	return out
}

// ukiTexts reads the text sections of a UKI for its entries, each section
// once: the profiles share the base's .osrel and .cmdline, and a UKI may
// have 256 profiles, so reading and parsing them per profile made listing
// one unverified UKI cost 256 times its .osrel (up to 1 MiB each time).
type ukiTexts struct {
	u       *uki.File
	parsed  map[*uki.Section]*uki.OSRelease
	mangled map[*uki.Section]string
}

// osRelease is the section name of p read as systemd-boot reads .osrel
// and .profile (ParseBootOSRelease); empty when p has none.
func (t *ukiTexts) osRelease(p *uki.Profile, name string) (*uki.OSRelease, error) {
	s := p.Section(name)
	if o, ok := t.parsed[s]; ok && s != nil {
		return o, nil
	}
	text, err := t.u.Text(p, name)
	if err != nil {
		return nil, err
	}
	o := uki.ParseBootOSRelease([]byte(text))
	if s != nil {
		t.parsed[s] = o
	}
	return o, nil
}

// cmdline is p's .cmdline as systemd-stub uses it (MangleCmdline).
func (t *ukiTexts) cmdline(p *uki.Profile) (string, error) {
	s := p.Section(uki.SectionCmdline)
	if c, ok := t.mangled[s]; ok && s != nil {
		return c, nil
	}
	text, err := t.u.Text(p, uki.SectionCmdline)
	if err != nil {
		return "", err
	}
	c := uki.MangleCmdline(text)
	if s != nil {
		t.mangled[s] = c
	}
	return c, nil
}

// skip hides a UKI (or a profile of one) that systemd-boot does not list
// (why: what it does), or makes a -url UKI's invalid: the user named it,
// and -auto says why it does not boot.
func (e *Entry) skip(reason, why string) {
	if e.Network() {
		e.invalid("%s", reason)
		return
	}
	e.hide("%s (%s)", reason, why)
}

// profileEntry makes the entry of profile p of the UKI u, whose file gave
// base. Its id follows v259: base's id, and for profiles > 0 "@" and the
// profile's ID as written (or its number).
func profileEntry(base *Entry, texts *ukiTexts, p *uki.Profile) *Entry {
	e := *base
	e.Profile = p.Number
	info, err := texts.osRelease(p, uki.SectionProfile)
	if err != nil {
		e.Status, e.Err = StatusInvalid, err
		return &e
	}
	id, idSet := info.Lookup("ID")
	e.ProfileID = id
	e.ProfileTitle, _ = info.Lookup("TITLE")
	if p.Number > 0 {
		e.IDWithoutProfile = e.ID
		if idSet {
			e.ID = e.ID + "@" + id
		} else {
			e.ID = fmt.Sprintf("%s@%d", e.ID, p.Number)
		}
	}
	fillType2(&e, texts, p, info)
	return &e
}

// fillType2 takes title, version and sort key from .osrel and the command
// line from .cmdline, as boot.c: boot_entry_add_type2 does: the first of
// PRETTY_NAME, IMAGE_ID, NAME and ID that is set names the entry, even if
// empty (bootspec_pick_name_version_sort_key); without .osrel or such a
// field the profile is hidden. A profile without .cmdline is fine.
func fillType2(e *Entry, texts *ukiTexts, p *uki.Profile, profile *uki.OSRelease) {
	if p.Section(uki.SectionOSRel) == nil {
		e.skip("no .osrel section, so no title", "systemd-boot skips such UKIs")
		return
	}
	osr, err := texts.osRelease(p, uki.SectionOSRel)
	if err != nil {
		e.Status, e.Err = StatusInvalid, err
		return
	}
	name, ok := osr.FirstSet("PRETTY_NAME", "IMAGE_ID", "NAME", "ID")
	if !ok {
		e.skip(".osrel sets none of PRETTY_NAME, IMAGE_ID, NAME and ID", "systemd-boot skips such UKIs")
		return
	}
	e.Version, _ = osr.FirstSet("IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID")
	e.SortKey, e.SortKeySet = osr.FirstSet("IMAGE_ID", "ID")
	title, titleSet := profile.Lookup("TITLE")
	id, idSet := profile.Lookup("ID")
	switch {
	case titleSet:
		e.Title = fmt.Sprintf("%s (%s)", name, title)
	case p.Number > 0 && idSet:
		e.Title = fmt.Sprintf("%s (%s)", name, id)
	case p.Number > 0:
		e.Title = fmt.Sprintf("%s (Profile #%d)", name, p.Number+1)
	default:
		e.Title = name
	}
	cl, err := texts.cmdline(p)
	if err != nil {
		e.Status, e.Err = StatusInvalid, err
		return
	}
	e.Cmdline = cl
}

// peMachine reads the COFF machine of a PE image, as far as systemd-boot
// looks before it lists a UKI (pe.c: verify_dos, verify_pe).
func peMachine(r io.ReaderAt) (uki.Machine, error) {
	var dos [64]byte
	if _, err := r.ReadAt(dos[:], 0); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return 0, errors.New("not a PE image: no DOS header")
	}
	off := int64(binary.LittleEndian.Uint32(dos[60:]))
	var pe [6]byte
	if off < int64(len(dos)) {
		return 0, errors.New("not a PE image: bad PE header offset")
	}
	if _, err := r.ReadAt(pe[:], off); err != nil || string(pe[:4]) != "PE\x00\x00" {
		return 0, errors.New("not a PE image: no PE signature")
	}
	return uki.Machine(binary.LittleEndian.Uint16(pe[4:])), nil
}

// machineName names a COFF machine for messages: "aa64 (arm64)".
func machineName(m uki.Machine) string {
	if a := EFIArch(m.GOARCH()); a != "" {
		return fmt.Sprintf("%s (%s)", a, m)
	}
	return "COFF machine " + m.String()
}
