package bls_test

import (
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// The tests in this file follow systemd-boot v259's src/boot/boot.c and
// pe.c: which entries it lists, and what it shows of them.

// TestVerifyPEForeignMachineIsHidden: pe.c: pe_section_table_from_file
// (verify_pe) refuses a PE for another COFF machine, so
// boot_entry_add_type2 lists no entry for it. Named by a type #1 "uki" key,
// systemd-boot lists the entry (it only opens the file) and fails to boot
// it: ukiboot lists it as invalid. Neither can become the default, even
// when it is the only entry or LoaderEntryOneShot names it.
func TestVerifyPEForeignMachineIsHidden(t *testing.T) {
	esp := t.TempDir()
	arm := ukitest.Image{Machine: 0xaa64, Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=arm\nPRETTY_NAME=\"For ARM\"\n"), ukitest.S(".linux", "MZ kernel")}}.Bytes()
	write(t, esp, "EFI/Linux/zzz-arm.efi", arm)
	write(t, esp, "EFI/other/arm.efi", arm)
	write(t, esp, "loader/entries/arm-uki.conf", []byte("uki /EFI/other/arm.efi\n"))
	write(t, esp, "EFI/Linux/native.efi", osrelUKI("ID=native\n", "quiet"))

	c := load(t, bls.Options{Arch: "x64", Vars: bls.MapVars{"LoaderEntryOneShot": "zzz-arm.efi"}}, esp)
	if ids(c) != "native.efi arm-uki.conf" {
		t.Errorf("listed %q, want the native UKI and the type #1 entry", ids(c))
	}
	h := hiddenByID(c)["zzz-arm.efi"]
	if h == nil || h.Bootable() || !strings.Contains(h.Err.Error(), "built for aa64 (arm64), this machine is x64") {
		t.Fatalf("zzz-arm.efi: %+v", h)
	}
	if e := byID(c)["arm-uki.conf"]; e == nil || e.Bootable() || !strings.Contains(e.Err.Error(), "built for aa64") {
		t.Errorf("arm-uki.conf: %+v", e)
	}
	if c.Default < 0 || c.Entries[c.Default].ID != "native.efi" || c.DefaultSource != "first entry" {
		t.Errorf("default %d from %q", c.Default, c.DefaultSource)
	}

	// The same UKI on an aa64 machine is listed.
	c = load(t, bls.Options{Arch: "aa64"}, esp)
	if e := byID(c)["zzz-arm.efi"]; e == nil || !e.Bootable() {
		t.Errorf("on aa64: %+v (hidden %s)", e, hiddenIDs(c))
	}
}

// TestBootEntryAddType1Drops follows boot.c: boot_entry_add_type1: which
// type #1 entries systemd-boot drops (hidden here, with the reason) and
// which it lists although they cannot boot.
func TestBootEntryAddType1Drops(t *testing.T) {
	cases := []struct {
		name, conf string
		hidden     string // the reason; "" when listed
		bootable   bool
	}{
		{"uki-url (no network boot)", "uki-url http://example.com/x.efi\n", "ukiboot cannot boot from the network", false},
		{"relative uki-url", "uki-url :x.efi\n", "uki-url :x.efi", false},
		{"linux file missing", "linux /gone\n", "linux /gone: no such file", false},
		{"uki file missing", "uki /EFI/gone.efi\n", "uki /EFI/gone.efi: no such file", false},
		{"efi file missing", "efi /EFI/gone.efi\n", "efi /EFI/gone.efi: no such file", false},
		{"linux and uki", "linux /vmlinuz\nuki /EFI/Linux/u.efi\n", "both linux and uki", false},
		{"uki then uki-url", "uki /EFI/Linux/u.efi\nuki-url http://x/u.efi\n", "both uki and uki-url", false},
		{"efi and linux, linux missing", "efi /EFI/Linux/u.efi\nlinux /gone\n", "both efi and linux", false},
		{"no kind", "title Nothing\noptions quiet\n", "no linux, efi, uki or uki-url key", false},
		{"linux twice: the last wins", "linux /gone\nlinux /vmlinuz\n", "", true},
		{"initrd missing: listed", "linux /vmlinuz\ninitrd /gone.img\n", "", false},
		{"devicetree missing: listed", "linux /vmlinuz\ndevicetree /gone.dtb\n", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			esp := t.TempDir()
			write(t, esp, "vmlinuz", []byte("kernel"))
			write(t, esp, "EFI/Linux/u.efi", osrelUKI("ID=u\n", ""))
			write(t, esp, "loader/entries/x.conf", []byte(tc.conf))
			c := load(t, bls.Options{Vars: bls.MapVars{"LoaderEntryOneShot": "x.conf"}}, esp)
			e, hidden := byID(c)["x.conf"], hiddenByID(c)["x.conf"]
			if tc.hidden != "" {
				if e != nil || hidden == nil || hidden.Status != bls.StatusHidden || !strings.Contains(hidden.Err.Error(), tc.hidden) {
					t.Fatalf("listed %v, hidden %+v; want hidden with %q", e != nil, hidden, tc.hidden)
				}
				if !strings.Contains(hidden.Err.Error(), "/loader/entries/x.conf") {
					t.Errorf("reason %q does not name the file", hidden.Err)
				}
				if c.Default >= 0 && c.Entries[c.Default] == hidden {
					t.Error("a hidden entry is the default")
				}
				return
			}
			if e == nil || hidden != nil || e.Bootable() != tc.bootable {
				t.Fatalf("entry %+v hidden %+v; want listed, bootable %v", e, hidden, tc.bootable)
			}
		})
	}
}

// TestBootEntryAddType2OSRelease follows boot.c: boot_entry_add_type2 and
// bootspec_pick_name_version_sort_key: .osrel is read with
// line_get_key_value (one pair of quotes removed, no escapes, "KEY = v"
// is not KEY), and the first of each list of fields that is set wins,
// even when empty. A UKI without .osrel or without a name is hidden.
func TestBootEntryAddType2OSRelease(t *testing.T) {
	cases := []struct {
		name, osrel                  string // osrel "-" for no section
		title, version, sortKey, why string // why: the hiding reason
	}{
		{"no .osrel", "-", "", "", "", "no .osrel section"},
		{"no name", "VERSION_ID=1\n", "", "", "", "sets none of PRETTY_NAME"},
		{"KEY = value is not KEY", "NAME = Fedora\n", "", "", "", "sets none of PRETTY_NAME"},
		{"double quotes", "PRETTY_NAME=\"Debian 12\"\nVERSION_ID=12\nID=debian\n", "Debian 12", "12", "debian", ""},
		{"single quotes", "NAME='Fedora Linux'\n", "Fedora Linux", "", "", ""},
		{"no escapes", `PRETTY_NAME="a\"b\\c"` + "\n", `a\"b\\c`, "", "", ""},
		{"only one pair of quotes", "NAME=\"'x'\"\n", "'x'", "", "", ""},
		{"unbalanced quote kept", "NAME=\"x\n", "\"x", "", "", ""},
		{"empty PRETTY_NAME wins", "PRETTY_NAME=\"\"\nNAME=Fedora\nID=fedora\n", "", "", "fedora", ""},
		{"empty VERSION wins", "ID=x\nVERSION=''\nVERSION_ID=40\n", "x", "", "x", ""},
		{"empty IMAGE_ID is the sort key", "NAME=N\nIMAGE_ID=\"\"\nID=fedora\n", "", "", "", ""},
		{"last assignment wins", "NAME=a\nNAME=b\n", "b", "", "", ""},
		{"comment and blanks", "  # NAME=c\n\t NAME=d \t\n", "d", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			esp := t.TempDir()
			secs := []ukitest.Section{ukitest.S(".linux", "MZ kernel")}
			if tc.osrel != "-" {
				secs = append(secs, ukitest.S(".osrel", tc.osrel))
			}
			write(t, esp, "EFI/Linux/u.efi", ukitest.UKI(secs...))
			c := load(t, bls.Options{}, esp)
			if tc.why != "" {
				h := hiddenByID(c)["u.efi"]
				if len(c.Entries) != 0 || h == nil || !strings.Contains(h.Err.Error(), tc.why) {
					t.Fatalf("listed %q, hidden %+v; want hidden with %q", ids(c), h, tc.why)
				}
				return
			}
			if len(c.Entries) != 1 {
				t.Fatalf("listed %q, hidden %q", ids(c), hiddenIDs(c))
			}
			e := c.Entries[0]
			if e.Title != tc.title || e.Version != tc.version || e.SortKey != tc.sortKey || !e.Bootable() {
				t.Errorf("title %q version %q sort key %q (%s); want %q %q %q", e.Title, e.Version, e.SortKey, e.Status, tc.title, tc.version, tc.sortKey)
			}
		})
	}
}

// TestBootEntryAddType2IDs: in v259 a type #2 id is the file name in lower
// case, except for a file with a boot counter, whose id keeps the case of
// the name before the '+' (boot_entry_parse_tries); the ids of profiles
// above 0 append the profile's ID as written. Type #1 ids are always lower
// case. .profile is read with line_get_key_value too.
func TestBootEntryAddType2IDs(t *testing.T) {
	esp := t.TempDir()
	profiles := []ukitest.Section{
		ukitest.S(".profile", "ID=Main\n"),
		ukitest.S(".profile", "ID='Rescue'\nTITLE=\"Rescue \\\"Mode\\\"\"\n"),
		ukitest.S(".profile", "TITLE=\n"),
	}
	write(t, esp, "EFI/Linux/Counted+3-1.EFI", osrelUKI("ID=a\nNAME=A\n", "", profiles...))
	write(t, esp, "EFI/Linux/Plain.EFI", osrelUKI("ID=b\nNAME=B\n", "", profiles...))
	write(t, esp, "vmlinuz", []byte("k"))
	write(t, esp, "loader/entries/Type1+2.CONF", []byte("linux /vmlinuz\n"))
	c := load(t, bls.Options{}, esp)
	want := map[string]string{
		"Counted.efi":        "A",
		"Counted.efi@Rescue": `A (Rescue \"Mode\")`,
		"Counted.efi@2":      "A ()",
		"plain.efi":          "B",
		"plain.efi@Rescue":   `B (Rescue \"Mode\")`,
		"plain.efi@2":        "B ()",
		"type1.conf":         "",
	}
	got := byID(c)
	for id, title := range want {
		e := got[id]
		if e == nil {
			t.Errorf("no entry %s; listed %s", id, ids(c))
			continue
		}
		if e.Title != title {
			t.Errorf("%s: title %q, want %q", id, e.Title, title)
		}
	}
	if len(c.Entries) != len(want) {
		t.Errorf("listed %s", ids(c))
	}
	if e := got["Counted.efi@Rescue"]; e != nil && (e.IDWithoutProfile != "Counted.efi" || e.ProfileID != "Rescue" || e.TriesLeft != 3) {
		t.Errorf("profile 1: %+v", e)
	}
}

// TestConfigLoadSmbiosEntries follows boot.c: config_load_smbios_entries:
// io.systemd.boot.entries-extra:NAME.conf=CONTENT entries are type #1
// entries whose paths are on the ESP (the first partition), whose id is
// the name in lower case, with no boot counting, sorted with the others;
// a name that is not NAME.conf is ignored (hidden here).
func TestConfigLoadSmbiosEntries(t *testing.T) {
	esp, xb := t.TempDir(), t.TempDir()
	write(t, esp, "vmlinuz", []byte("k"))
	write(t, xb, "only-on-xbootldr", []byte("k"))
	write(t, esp, "loader/entries/b.conf", []byte("linux /vmlinuz\n"))
	extra := []bls.ExtraEntry{
		{Name: "Smbios-C+3.conf", Content: []byte("title From SMBIOS\nlinux /vmlinuz\noptions console=ttyS0\n")},
		{Name: "a.conf", Content: []byte("linux /vmlinuz\n")},
		{Name: "xb.conf", Content: []byte("linux /only-on-xbootldr\n")},
		{Name: "notes.txt", Content: []byte("linux /vmlinuz\n")},
		{Name: "auto-x.conf", Content: []byte("linux /vmlinuz\n")},
	}
	c := load(t, bls.Options{Extra: extra}, esp, xb)
	if got := ids(c); got != "smbios-c+3.conf b.conf a.conf" {
		t.Errorf("order %q", got)
	}
	e := byID(c)["smbios-c+3.conf"]
	if e == nil || !e.Bootable() || e.Title != "From SMBIOS" || e.Cmdline != "console=ttyS0" || e.Counter != nil || e.TriesLeft != -1 {
		t.Fatalf("SMBIOS entry: %+v", e)
	}
	if e.Root != c.Roots[0] || e.DisplayPath() != "SMBIOS:Smbios-C+3.conf" || e.FullPath() != "SMBIOS:Smbios-C+3.conf" {
		t.Errorf("root %v display %q full %q", e.Root, e.DisplayPath(), e.FullPath())
	}
	if got := hiddenIDs(c); got != "xb.conf notes.txt auto-x.conf" {
		t.Errorf("hidden %q", got)
	}
	if h := hiddenByID(c)["xb.conf"]; h == nil || !strings.Contains(h.Err.Error(), "SMBIOS:xb.conf: linux /only-on-xbootldr") {
		t.Errorf("xb.conf: %+v", h)
	}
}

// TestUKIWithoutCmdline: a UKI (or a profile) without .cmdline is listed
// and bootable, with an empty command line (conform.UKIWithoutCmdline;
// boot_entry_add_type2 goes on to the next profile).
func TestUKIWithoutCmdline(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/nocmd.efi", ukitest.UKI(ukitest.S(".osrel", "ID=x\n"), ukitest.S(".linux", "MZ k"),
		ukitest.S(".profile", "ID=one\n"),
		ukitest.S(".profile", "ID=two\n"), ukitest.S(".cmdline", "two"),
		ukitest.S(".profile", "ID=three\n")))
	c := load(t, bls.Options{}, esp)
	if got := ids(c); got != "nocmd.efi nocmd.efi@two nocmd.efi@three" {
		t.Fatalf("ids %q (hidden %q)", got, hiddenIDs(c))
	}
	for i, want := range []string{"", "two", ""} {
		if e := c.Entries[i]; !e.Bootable() || e.Cmdline != want {
			t.Errorf("%s: %s cmdline %q, want %q", e.ID, e.Status, e.Cmdline, want)
		}
	}
}

// TestBootEntryCompareEmptySortKey: a sort key that is set but empty
// (`sort-key ""`, IMAGE_ID="") still counts as a sort key in
// boot_entry_compare, which tests it for NULL: such entries sort before
// those without one.
func TestBootEntryCompareEmptySortKey(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "k", []byte("k"))
	write(t, esp, "EFI/Linux/a.efi", osrelUKI("NAME=A\nIMAGE_ID=\"\"\n", ""))
	write(t, esp, "EFI/Linux/z.efi", osrelUKI("NAME=Z\n", ""))
	write(t, esp, "loader/entries/a.conf", []byte("linux /k\nsort-key \"\"\n"))
	write(t, esp, "loader/entries/z.conf", []byte("linux /k\n"))
	c := load(t, bls.Options{}, esp)
	if got := ids(c); got != "a.efi a.conf z.efi z.conf" {
		t.Errorf("order %q, want the entries with an empty sort key first", got)
	}
}
