package bls

import (
	"fmt"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// loadType2 reads the type #2 entries of a partition: the UKIs in
// /EFI/Linux, one entry per profile.
func loadType2(c *Config, part *Root, o Options) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, Type2Dir) {
		if skipName(name, ".efi") {
			continue
		}
		out = append(out, type2Entries(part, name, o)...)
	}
	return out
}

// type2Entries makes one entry per profile of a UKI; a file that is not a
// valid UKI gives one invalid entry.
func type2Entries(part *Root, name string, o Options) []*Entry {
	base := newEntry(part, Type2Dir, name, ".efi", Type2)
	base.UKI = base.Path
	fail := func(err error) []*Entry {
		base.Title = name
		base.Status, base.Err = StatusInvalid, err
		return []*Entry{base}
	}
	f, err := part.Open(base.Path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	u, err := o.readUKI(f, st.Size(), base.DisplayPath())
	if err != nil {
		return fail(err)
	}
	var out []*Entry
	for _, p := range u.Profiles() {
		e := *base
		e.Profile = p.Number
		e.ProfileID, e.ProfileTitle = p.ID, p.Title
		if err := fillType2(&e, u, p); err != nil {
			e.Title = name
			e.Status, e.Err = StatusInvalid, err
		}
		if p.Number > 0 {
			e.IDWithoutProfile = e.ID
			if p.ID != "" {
				e.ID = e.ID + "@" + strings.ToLower(p.ID)
			} else {
				e.ID = fmt.Sprintf("%s@%d", e.ID, p.Number)
			}
		}
		out = append(out, &e)
	}
	return out
}

// fillType2 takes title, version and sort key from .osrel and the command
// line from .cmdline, as systemd-boot does.
func fillType2(e *Entry, u *uki.File, p *uki.Profile) error {
	osr, err := u.OSRelease(p)
	if err != nil {
		return err
	}
	if osr == nil {
		return fmt.Errorf("%s: no .osrel section, so no title (systemd-boot skips such UKIs)", u.Name)
	}
	name := osr.First("PRETTY_NAME", "IMAGE_ID", "NAME", "ID")
	if name == "" {
		return fmt.Errorf("%s: .osrel has none of PRETTY_NAME, IMAGE_ID, NAME, ID", u.Name)
	}
	e.Version = osr.First("IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID")
	e.SortKey = osr.First("IMAGE_ID", "ID")
	switch {
	case p.Title != "":
		e.Title = fmt.Sprintf("%s (%s)", name, p.Title)
	case p.Number > 0 && p.ID != "":
		e.Title = fmt.Sprintf("%s (%s)", name, p.ID)
	case p.Number > 0:
		e.Title = fmt.Sprintf("%s (Profile #%d)", name, p.Number+1)
	default:
		e.Title = name
	}
	cl, err := u.Text(p, uki.SectionCmdline)
	if err != nil {
		return err
	}
	e.Cmdline = uki.MangleCmdline(cl)
	return nil
}
