package smbios

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// type11 builds a Type 11 structure holding strs.
func type11(strs ...string) []byte {
	return raw(TypeOEMStrings, 0x0b00, []byte{byte(len(strs))}, strs...)
}

// TestReadOEM follows src/boot/smbios.c: smbios_find_oem_string (first
// string wins, prefix match with the '=', case-sensitive) and
// src/boot/boot.c: config_load_smbios_entries (every entries-extra string,
// valid_type1_filename).
func TestReadOEM(t *testing.T) {
	for _, c := range []struct {
		name    string
		files   map[string][]byte
		want    OEM
		skipped []string
	}{
		{name: "no type 11", files: map[string][]byte{"1-0": raw(1, 0, nil)}, want: OEM{}},
		{
			name: "stub and boot extras, first wins",
			files: map[string][]byte{"11-0": type11(
				"io.systemd.credential:x=y",
				KeyStubCmdlineExtra+"quiet loglevel=3",
				KeyBootCmdlineExtra+"",
				KeyStubCmdlineExtra+"second",
				"IO.SYSTEMD.BOOT.KERNEL-CMDLINE-EXTRA=upper case is another key",
			)},
			want: OEM{
				StubCmdlineExtra: Value{Text: "quiet loglevel=3", Set: true},
				BootCmdlineExtra: Value{Text: "", Set: true},
			},
		},
		{
			name: "key without its = is another key",
			files: map[string][]byte{"11-0": type11(
				"io.systemd.stub.kernel-cmdline-extra-foo=bar",
				"io.systemd.stub.kernel-cmdline-extra",
			)},
			want: OEM{},
		},
		{
			name: "entries extra in order, invalid names skipped",
			files: map[string][]byte{"11-0": type11(
				KeyBootEntriesExtra+"a.conf=title A\nlinux /vmlinuz\n",
				KeyBootEntriesExtra+"noequals.conf",
				KeyBootEntriesExtra+".hidden.conf=title H",
				KeyBootEntriesExtra+"auto-x.conf=title X",
				KeyBootEntriesExtra+"AUTO-y.conf=title Y",
				KeyBootEntriesExtra+"b.txt=title B",
				KeyBootEntriesExtra+"=title empty",
				KeyBootEntriesExtra+"B.CONF=title B=2",
				KeyBootTimeout+"5",
			)},
			want: OEM{
				EntriesExtra: []ExtraEntry{{Name: "a.conf", Content: "title A\nlinux /vmlinuz\n"}, {Name: "B.CONF", Content: "title B=2"}},
				Timeout:      Value{Text: "5", Set: true},
			},
			skipped: []string{"no '='", `".hidden.conf"`, `"auto-x.conf"`, `"AUTO-y.conf"`, `"b.txt"`, `""`},
		},
		{
			name: "only the first type 11 structure",
			files: map[string][]byte{
				"11-0": type11("vendor=1"),
				"11-1": type11(KeyStubCmdlineExtra + "from the second"),
			},
			want:    OEM{},
			skipped: []string{"/sys/firmware/dmi/entries/11-1/raw: \"io.systemd.stub.kernel-cmdline-extra=from the second\": only the first"},
		},
		{
			name:    "first type 11 too short",
			files:   map[string][]byte{"11-0": raw(TypeOEMStrings, 0, nil, KeyStubCmdlineExtra+"x")},
			want:    OEM{},
			skipped: []string{"shorter than 5"},
		},
		{
			name: "longer structure: its extra bytes are read as strings, as systemd does",
			files: map[string][]byte{"11-0": raw(TypeOEMStrings, 0, append([]byte{1}, KeyStubCmdlineExtra+"formatted\x00"...),
				KeyStubCmdlineExtra+"string")},
			want: OEM{StubCmdlineExtra: Value{Text: "formatted", Set: true}},
		},
		{
			name: "longer structure starting with NUL: no strings, as systemd",
			files: map[string][]byte{"11-0": raw(TypeOEMStrings, 0, []byte{1, 0},
				KeyStubCmdlineExtra+"string")},
			want: OEM{},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadOEM(entries(c.files))
			if err != nil {
				t.Fatal(err)
			}
			skipped := got.Skipped
			got.Skipped, got.Strings, got.Path = nil, nil, ""
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
			if len(skipped) != len(c.skipped) {
				t.Fatalf("skipped %q, want %d reasons like %q", skipped, len(c.skipped), c.skipped)
			}
			for i, want := range c.skipped {
				if !strings.Contains(skipped[i], want) {
					t.Errorf("skipped[%d] = %q, want it to contain %q", i, skipped[i], want)
				}
			}
		})
	}
}

func TestReadOEMErrors(t *testing.T) {
	if _, err := ReadOEM(fstest.MapFS{}); !errors.Is(err, ErrNoEntries) {
		t.Errorf("no dmi-sysfs: err = %v, want ErrNoEntries", err)
	}
	_, err := ReadOEM(entries(map[string][]byte{"11-0": {11, 5, 0, 0, 1, 'a'}}))
	if err == nil || !strings.HasPrefix(err.Error(), "/sys/firmware/dmi/entries/11-0/raw: truncated") {
		t.Errorf("truncated: err = %v, want it to name the file", err)
	}
}

func TestValidEntryName(t *testing.T) {
	for name, want := range map[string]bool{
		"a.conf": true, "A.CONF": true, "x.Conf": true, "autox.conf": true,
		"": false, ".conf": false, ".a.conf": false, "a.con": false, "auto-a.conf": false, "Auto-a.conf": false,
		"a.conf.bak": false,
	} {
		if got := ValidEntryName(name); got != want {
			t.Errorf("ValidEntryName(%q) = %v, want %v", name, got, want)
		}
	}
}
