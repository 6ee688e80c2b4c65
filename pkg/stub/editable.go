package stub

import "github.com/ukiboot/ukiboot/pkg/uki"

// argumentsIgnored is the one rule for arguments handed to a UKI (a type
// #1 entry's options, the menu's edit): like systemd-stub under Secure
// Boot, they are ignored when verification is enforced and the UKI's
// profile has its own .cmdline.
func (p Policy) argumentsIgnored(prof *uki.Profile) bool {
	return p.enforce() && prof.Section(uki.SectionCmdline) != nil
}

// CmdlineEditable says whether the command line of t can be changed
// under pol (the menu's editor, -append aside), by the rule Build applies:
// a type #1 kernel entry always can; a UKI cannot when verification is
// enforced and the UKI (of the entry's profile) has a .cmdline. It reads
// the UKI's headers only. When it cannot, why says so.
func CmdlineEditable(t Target, pol Policy) (ok bool, why string) {
	if t.UKI == "" || !pol.enforce() {
		return true, ""
	}
	f, err := t.Files.Open(t.UKI)
	if err != nil {
		return false, err.Error()
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err.Error()
	}
	u, err := uki.Read(f, st.Size(), t.Files.Display(t.UKI), uki.KindUKI)
	if err != nil {
		return false, err.Error()
	}
	prof, err := u.Profile(t.Profile)
	if err != nil {
		return false, err.Error()
	}
	if pol.argumentsIgnored(prof) {
		return false, "verification is enforced and the UKI has its own .cmdline"
	}
	return true, ""
}
