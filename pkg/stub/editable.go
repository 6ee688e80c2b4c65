package stub

import "github.com/ukiboot/ukiboot/pkg/uki"

// argumentsIgnored is the one rule for arguments handed to a UKI (a type
// #1 entry's options, the menu's edit): like systemd-stub under Secure
// Boot, they are ignored when verification is enforced and the UKI's
// profile has its own .cmdline.
func (p Policy) argumentsIgnored(prof *uki.Profile) bool {
	return p.enforce() && prof.Section(uki.SectionCmdline) != nil
}

// Editability says whether the command line of a target can be changed
// under one policy (the menu's editor, -append aside), by the rule Build
// applies: a type #1 kernel entry always can; a UKI cannot when
// verification is enforced and the UKI (of the entry's profile) has a
// .cmdline. It reads the UKIs' headers only, each UKI once: the entries
// of a UKI's profiles (up to 256) share the file, and reading it again for
// each (all its .profile sections) made asking for all of them cost 256
// times the file.
type Editability struct {
	pol   Policy
	files map[string]editableFile // by the UKI's display name
}

type editableFile struct {
	u   *uki.File
	err error
}

// NewEditability returns an Editability for pol.
func NewEditability(pol Policy) *Editability {
	return &Editability{pol: pol, files: map[string]editableFile{}}
}

// Of says whether t's command line can be changed; when it cannot, why
// says so.
func (e *Editability) Of(t Target) (ok bool, why string) {
	if t.UKI == "" || !e.pol.enforce() {
		return true, ""
	}
	name := t.Files.Display(t.UKI)
	ef, seen := e.files[name]
	if !seen {
		ef.u, ef.err = readHeaders(t)
		e.files[name] = ef
	}
	if ef.err != nil {
		return false, ef.err.Error()
	}
	prof, err := ef.u.Profile(t.Profile)
	if err != nil {
		return false, err.Error()
	}
	if e.pol.argumentsIgnored(prof) {
		return false, "verification is enforced and the UKI has its own .cmdline"
	}
	return true, ""
}

// readHeaders reads the headers of t's UKI (what Profile and Section
// need; no section data is read afterwards).
func readHeaders(t Target) (*uki.File, error) {
	f, err := t.Files.Open(t.UKI)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return uki.Read(f, st.Size(), t.Files.Display(t.UKI), uki.KindUKI)
}
