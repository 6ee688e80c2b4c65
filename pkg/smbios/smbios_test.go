package smbios

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// raw builds a structure: header, the formatted bytes after it, then the
// strings and the double NUL.
func raw(typ uint8, handle uint16, formatted []byte, strs ...string) []byte {
	b := []byte{typ, byte(HeaderSize + len(formatted)), byte(handle), byte(handle >> 8)}
	b = append(b, formatted...)
	if len(strs) == 0 {
		return append(b, 0, 0)
	}
	for _, s := range strs {
		b = append(b, s...)
		b = append(b, 0)
	}
	return append(b, 0)
}

func entries(files map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[EntriesDir+"/"+name+"/raw"] = &fstest.MapFile{Data: data}
	}
	return fsys
}

func TestReadStructures(t *testing.T) {
	fsys := entries(map[string][]byte{
		"11-0":  raw(11, 0x0b00, []byte{2}, "a=1", "b=2"),
		"11-10": raw(11, 0x0b0a, []byte{1}, "ten"),
		"11-2":  raw(11, 0x0b02, []byte{0}),
		"1-0":   raw(1, 0x0100, []byte{1, 2, 3, 4}, "maker"),
		"111-0": raw(111, 0x6f00, nil),
	})
	fsys[EntriesDir+"/11-x/raw"] = &fstest.MapFile{Data: []byte("junk")}
	got, err := ReadStructures(fsys, 11)
	if err != nil {
		t.Fatal(err)
	}
	var handles []uint16
	for _, s := range got {
		handles = append(handles, s.Handle)
	}
	if want := []uint16{0x0b00, 0x0b02, 0x0b0a}; !equal(handles, want) {
		t.Fatalf("handles %#x, want %#x (instance order, other types skipped)", handles, want)
	}
	s := got[0]
	if s.Path != "/sys/firmware/dmi/entries/11-0/raw" || s.Type != 11 || len(s.Formatted) != 5 {
		t.Errorf("structure %+v", s)
	}
	for _, c := range []struct {
		index uint8
		want  string
	}{{0, ""}, {1, "a=1"}, {2, "b=2"}, {3, ""}, {255, ""}} {
		if got := s.String(c.index); got != c.want {
			t.Errorf("String(%d) = %q, want %q", c.index, got, c.want)
		}
	}
	if got := s.StringAt(4); got != "b=2" {
		t.Errorf("StringAt(4) = %q, want b=2", got)
	}
	if got := s.StringAt(5); got != "" {
		t.Errorf("StringAt(5) past the formatted area = %q, want empty", got)
	}
	if b, ok := s.Byte(1); !ok || b != 5 {
		t.Errorf("Byte(1) = %d, %v, want the length 5", b, ok)
	}
}

func equal(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadStructuresNoEntries(t *testing.T) {
	_, err := ReadStructures(fstest.MapFS{}, 11)
	if !errors.Is(err, ErrNoEntries) {
		t.Fatalf("err = %v, want ErrNoEntries", err)
	}
	got, err := ReadStructures(entries(map[string][]byte{"1-0": raw(1, 0, nil)}), 11)
	if err != nil || len(got) != 0 {
		t.Fatalf("no type 11: %v, %v; want none and no error", got, err)
	}
}

func TestReadStructuresHostile(t *testing.T) {
	huge := raw(11, 0, []byte{1}, strings.Repeat("x", MaxStructureSize))
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "shorter than the 4-byte header"},
		{"truncated header", []byte{11, 5}, "shorter than the 4-byte header"},
		{"length below header", []byte{11, 3, 0, 0, 0, 0}, "shorter than the header"},
		{"length past the file", []byte{11, 9, 0, 0, 1, 0, 0}, "header gives a length of 9"},
		{"no string set", []byte{11, 5, 0, 0, 1}, "no double NUL"},
		{"no double NUL", []byte{11, 5, 0, 0, 1, 'a', 0}, "not ended by a double NUL"},
		{"empty set with one NUL", []byte{11, 5, 0, 0, 1, 0, 'a', 0, 0}, "empty string set"},
		{"bytes after the end", append(raw(11, 0, []byte{1}, "a"), 'x'), "1 bytes after the double NUL"},
		{"too many strings", raw(11, 0, []byte{1}, strings.Split(strings.Repeat("s,", 256), ",")[:256]...), "more than the 255"},
		{"huge", huge, "larger than 65536 bytes"},
		{"type mismatch", raw(1, 0, nil), "structure of type 1 in an entry of type 11"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadStructures(entries(map[string][]byte{"11-0": c.data}), 11)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "/sys/firmware/dmi/entries/11-0/raw: ") {
				t.Errorf("err = %v, want it to name the file", err)
			}
		})
	}
}

// TestReadStructuresNamesFileOnce: an entry without its raw file is
// reported with the file's path once, as the user knows it.
func TestReadStructuresNamesFileOnce(t *testing.T) {
	fsys := fstest.MapFS{EntriesDir + "/11-0": &fstest.MapFile{Mode: fs.ModeDir | 0o755}}
	_, err := ReadStructures(fsys, 11)
	if want := "/sys/firmware/dmi/entries/11-0/raw: file does not exist"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestReadStructuresTooMany(t *testing.T) {
	files := map[string][]byte{}
	for i := 0; i <= MaxStructures; i++ {
		files["11-"+strconv.Itoa(i)] = raw(11, uint16(i), []byte{0})
	}
	_, err := ReadStructures(entries(files), 11)
	if err == nil || !strings.Contains(err.Error(), "more than 256 structures of type 11") {
		t.Fatalf("err = %v, want the bound named", err)
	}
}

func FuzzStructures(f *testing.F) {
	f.Add(raw(11, 1, []byte{2}, "io.systemd.stub.kernel-cmdline-extra=quiet", "x"))
	f.Add(raw(1, 1, make([]byte, 23), "a", "b", "c"))
	f.Add([]byte{11, 5, 0, 0, 1, 'a', 0})
	f.Add([]byte{11, 4, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if len(s.Formatted) < HeaderSize || len(s.Formatted) != int(s.Formatted[1]) || len(s.Strings) > 255 {
			t.Fatalf("accepted %x as %+v", data, s)
		}
		for i := 0; i < 256; i++ {
			_ = s.String(uint8(i))
			_ = s.StringAt(i)
		}
		for _, str := range s.Strings {
			if str == "" || strings.IndexByte(str, 0) >= 0 {
				t.Fatalf("string %q from %x", str, data)
			}
		}
		o := ParseOEM(s)
		for _, e := range o.EntriesExtra {
			if !ValidEntryName(e.Name) {
				t.Fatalf("entry %q accepted from %x", e.Name, data)
			}
		}
	})
}
