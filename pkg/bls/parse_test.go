package bls

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCounter(t *testing.T) {
	cases := []struct {
		file, suffix, id string
		ok               bool
		left, done       int
		hasDone          bool
		next             string
	}{
		{"foo+3-0.conf", ".conf", "foo.conf", true, 3, 0, true, "foo+2-1.conf"},
		{"foo+3.conf", ".conf", "foo.conf", true, 3, 0, false, "foo+2-1.conf"},
		{"foo+10.efi", ".efi", "foo.efi", true, 10, 0, false, "foo+09-1.efi"},
		{"foo+10-09.efi", ".efi", "foo.efi", true, 10, 9, true, "foo+09-10.efi"},
		{"foo+0-5.conf", ".conf", "foo.conf", true, 0, 5, true, "foo+0-6.conf"},
		{"foo+1-0.conf", ".conf", "foo.conf", true, 1, 0, true, "foo+0-1.conf"},
		{"a+b+3-1.conf", ".conf", "a+b.conf", true, 3, 1, true, "a+b+2-2.conf"},
		{"Fedora+2.EFI", ".efi", "Fedora.EFI", true, 2, 0, false, "Fedora+1-1.efi"},
		{"foo+3-.conf", ".conf", "foo+3-.conf", false, 0, 0, false, ""},
		{"foo+x.conf", ".conf", "foo+x.conf", false, 0, 0, false, ""},
		{"foo+3x.conf", ".conf", "foo+3x.conf", false, 0, 0, false, ""},
		{"foo+3.conf.bak", ".conf", "foo+3.conf.bak", false, 0, 0, false, ""},
		{"foo.conf", ".conf", "foo.conf", false, 0, 0, false, ""},
		{"foo+99999999999.conf", ".conf", "foo+99999999999.conf", false, 0, 0, false, ""},
		{"x.a+b", "+b", "x.a+b", false, 0, 0, false, ""},
		{"a+1.x+2.conf", ".conf", "a+1.x.conf", true, 2, 0, false, "a+1.x+1-1.conf"},
	}
	for _, c := range cases {
		id, cnt, ok := ParseCounter(c.file, c.suffix)
		if id != c.id || ok != c.ok {
			t.Errorf("%s: id %q ok %v, want %q %v", c.file, id, ok, c.id, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if cnt.Left != c.left || cnt.Done != c.done || cnt.HasDone != c.hasDone {
			t.Errorf("%s: counter %+v", c.file, cnt)
		}
		if got := cnt.Next(); got != c.next {
			t.Errorf("%s: next %q, want %q", c.file, got, c.next)
		}
	}
}

func TestParseType1(t *testing.T) {
	e := &Entry{Status: StatusOK, Path: "/loader/entries/x.conf"}
	parseType1(e, []byte(strings.Join([]string{
		"# comment",
		"  title \t Fedora Linux 40  (Workstation)  ",
		"version\t6.8.9-300.fc40.x86_64",
		"machine-id 0123456789abcdef0123456789abcdef",
		"sort-key fedora",
		"linux /vmlinuz-6.8.9",
		"initrd /intel-ucode.img",
		"initrd initramfs-6.8.9.img",
		"options root=UUID=1234 ro",
		"options",
		"options  quiet   splash",
		"devicetree /dtb/board.dtb",
		"devicetree-overlay /a.dtbo  /b.dtbo",
		"architecture x64",
		"grub_users $grub_users",
		"profile 2",
		"",
	}, "\r\n")))
	if e.Status != StatusOK {
		t.Fatalf("status %s: %v", e.Status, e.Err)
	}
	want := &Entry{
		Status: StatusOK, Path: "/loader/entries/x.conf",
		Title: "Fedora Linux 40  (Workstation)", Version: "6.8.9-300.fc40.x86_64",
		MachineID: "0123456789abcdef0123456789abcdef", SortKey: "fedora", SortKeySet: true,
		Linux: "/vmlinuz-6.8.9", Initrd: []string{"/intel-ucode.img", "/initramfs-6.8.9.img"},
		Options: []string{"root=UUID=1234 ro", "quiet   splash"}, Cmdline: "root=UUID=1234 ro quiet   splash",
		Devicetree: "/dtb/board.dtb", DevicetreeOverlay: []string{"/a.dtbo", "/b.dtbo"},
		Architecture: "x64", Other: []KeyValue{{"grub_users", "$grub_users"}}, Profile: 2,
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestParseType1BadPaths(t *testing.T) {
	for _, line := range []string{"linux /../etc/passwd", "linux ../x", "initrd /a/./b", "linux /boot/", "efi /EFI/../../x.efi"} {
		e := &Entry{Status: StatusOK, Path: "/loader/entries/x.conf"}
		parseType1(e, []byte(line+"\n"))
		if e.Status != StatusInvalid || e.Err == nil {
			t.Errorf("%q: status %s", line, e.Status)
			continue
		}
		if !strings.Contains(e.Err.Error(), "/loader/entries/x.conf") {
			t.Errorf("%q: error %q does not name the file", line, e.Err)
		}
	}
}

func TestParseLoaderConf(t *testing.T) {
	c := ParseLoaderConf("loader.conf", []byte("# c\ndefault  Fedora-*\ntimeout 7\neditor no\nconsole-mode max\nbogus\n"))
	if c.Default != "Fedora-*" || c.Timeout != (Timeout{TimeoutSeconds, 7}) || c.Editor || len(c.Other) != 1 || c.Other[0].Key != "console-mode" {
		t.Errorf("%+v", c)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "loader.conf:6") {
		t.Errorf("warnings %q", c.Warnings)
	}
	for v, want := range map[string]Timeout{
		"0": {TimeoutSeconds, 0}, "menu-force": {Kind: TimeoutMenuForce},
		"menu-hidden": {Kind: TimeoutMenuHidden}, "menu-disabled": {Kind: TimeoutMenuDisabled},
	} {
		if got := ParseLoaderConf("l", []byte("timeout "+v)).Timeout; got != want {
			t.Errorf("timeout %s: %+v", v, got)
		}
	}
	c = ParseLoaderConf("l", []byte("timeout soon\neditor maybe\ndefault @foo\n"))
	if c.Timeout.Kind != TimeoutUnset || !c.Editor || c.Default != "" || len(c.Warnings) != 3 {
		t.Errorf("bad values not ignored: %+v", c)
	}
	if c := ParseLoaderConf("l", []byte("default @SAVED")); c.Default != "@SAVED" {
		t.Errorf("@saved: %q", c.Default)
	}
	if c := ParseLoaderConf("l", nil); !c.Editor || c.Timeout.Kind != TimeoutUnset {
		t.Errorf("defaults: %+v", c)
	}
}

func TestMatchID(t *testing.T) {
	cases := []struct {
		pattern, id string
		want        bool
	}{
		{"fedora*", "fedora-6.8.conf", true},
		{"FEDORA*", "fedora-6.8.conf", true},
		{"fedora*", "Fedora-6.8.conf", false}, // the id is compared as it is (efi_fnmatch)
		{"*.efi", "debian.efi", true},
		{"*.efi", "debian.conf", false},
		{"debian.efi", "debian.efi", true},
		{"debian", "debian.efi", false},
		{"deb?an.efi", "debian.efi", true},
		{"deb[a-j]an*", "debian.efi", true},
		{"deb[!a-j]an*", "debian.efi", true}, // no negation in efi_fnmatch
		{"deb[!]an*", "deb!an.efi", true},
		{"deb[^x]an*", "debian.efi", false},
		{"*[0-9].conf", "x9.conf", true},
		{"a\\*", "a*", true},
		{"a\\*", "ab", false},
		{"[", "[", false}, // an unclosed set matches nothing
		{"a[b", "a[b", false},
		{strings.Repeat("*a", 12) + "*b", strings.Repeat("a", 60) + ".conf", false},
		{"*.conf", strings.Repeat("a", 60) + ".conf", true},
		{"f*o*.c?nf", "fedora-40.conf", true},
		{"*", "", true},
		{"?", "", false},
		{"**x", "abx", true},
	}
	for _, c := range cases {
		if got := MatchID(c.pattern, c.id); got != c.want {
			t.Errorf("MatchID(%q, %q) = %v", c.pattern, c.id, got)
		}
	}
}

func TestShowTitles(t *testing.T) {
	es := []*Entry{
		{ID: "a.conf", Title: "Linux", Version: "1"},
		{ID: "b.conf", Title: "Linux", Version: "2"},
		{ID: "c.conf", Title: "Linux", Version: "2", MachineID: "0123456789abcdef"},
		{ID: "d.conf", Title: "Other"},
		{ID: "e.conf"},
		{ID: "f.conf", Title: "Dup"},
		{ID: "g.conf", Title: "Dup"},
	}
	MakeShowTitles(es)
	want := []string{"Linux (1)", "Linux (2)", "Linux (2) (01234567)", "Other", "e.conf", "Dup (f.conf)", "Dup (g.conf)"}
	for i, e := range es {
		if e.ShowTitle != want[i] {
			t.Errorf("%s: %q, want %q", e.ID, e.ShowTitle, want[i])
		}
	}
}

func TestCompareRules(t *testing.T) {
	mk := func(id, sortKey, machine, version string, left, done int) *Entry {
		return &Entry{ID: id, SortKey: sortKey, MachineID: machine, Version: version, TriesLeft: left, TriesDone: done, Status: StatusOK}
	}
	// Each list is in the expected order.
	lists := [][]*Entry{
		// bad entries go last, even with a better sort key
		{mk("z.conf", "", "", "", -1, -1), mk("a.conf", "a", "", "", 0, 3)},
		// sort key before none; then by sort key
		{mk("a.conf", "arch", "", "", -1, -1), mk("b.conf", "debian", "", "", -1, -1), mk("zzz.conf", "", "", "", -1, -1)},
		// same sort key: machine id, then version newest first
		{mk("x.conf", "f", "1", "9", -1, -1), mk("y.conf", "f", "2", "10", -1, -1), mk("z.conf", "f", "2", "9", -1, -1)},
		// no sort key: id newest first
		{mk("linux-6.10.conf", "", "", "", -1, -1), mk("linux-6.9.conf", "", "", "", -1, -1)},
		// same id: more tries left first, then fewer done
		{mk("a.conf", "", "", "", 3, 0), mk("a.conf", "", "", "", 2, 0), mk("a.conf", "", "", "", 2, 1)},
	}
	for n, l := range lists {
		shuffled := []*Entry{}
		for i := len(l) - 1; i >= 0; i-- {
			shuffled = append(shuffled, l[i])
		}
		Sort(shuffled)
		for i := range l {
			if shuffled[i] != l[i] {
				t.Errorf("list %d: position %d is %s, want %s", n, i, shuffled[i].ID, l[i].ID)
			}
		}
	}
}
