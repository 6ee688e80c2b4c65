package sbat

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func components(entries []Entry) map[string]uint16 {
	m := map[string]uint16{}
	for _, e := range entries {
		m[e.Component] = e.Generation
	}
	return m
}

func TestParseSectionReal(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want map[string]uint16
	}{
		{"Debian systemd-stub", debianStubSBAT, map[string]uint16{"sbat": 1, "systemd": 1, "systemd.debian": 1}},
		{"shim data/sbat.csv", shimSBAT, map[string]uint16{"sbat": 1, "shim": 4}},
		{"ukify UKI", ukifySBAT, map[string]uint16{"sbat": 1, "systemd": 1, "systemd.debian": 1, "uki": 1}},
		{"ukify addon", ukifyAddonSBAT, map[string]uint16{"sbat": 1, "uki-addon": 1}},
		{"Debian GRUB", debianGrubSBAT, map[string]uint16{"sbat": 1, "grub": 3, "grub.debian": 3}},
		{"RHEL GRUB", rhelGrubSBAT, map[string]uint16{"sbat": 1, "grub": 1, "grub.fedora": 1, "grub.rhel": 1}},
		{"padded to the file alignment", debianStubSBAT + strings.Repeat("\x00", 0x200-len(debianStubSBAT)), map[string]uint16{"sbat": 1, "systemd": 1, "systemd.debian": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseSection([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := components(entries); !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	entries, err := ParseSection([]byte(rhelGrubSBAT))
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{Component: "grub.rhel", Generation: 1, Vendor: "Red Hat Enterprise Linux", Package: "grub2", Version: "2.02-0.34.el7_2", URL: "mail:secalert@redhat.com", Line: 4}
	if entries[3] != want {
		t.Errorf("entry 4 = %+v, want %+v", entries[3], want)
	}
}

// sbatLine is the entry every .sbat section starts with.
const sbatLine = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md"

// TestParseSectionLexical: the CSV rules of shim's parse_csv_data, on
// data like shim's own test-csv.c and test-sbat.c use.
func TestParseSectionLexical(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  string
		want  []string // component,generation,vendor,package,version,url per entry
		lines []int
	}{
		{"no newline at the end", sbatLine,
			[]string{sbatLine}, []int{1}},
		{"text ends at the first NUL", sbatLine + "\n\x00grub,1,a,b,c,d\n",
			[]string{sbatLine}, []int{1}},
		{"NUL inside a line ends it", sbatLine + "\ngrub,1,a,b,c,d\x00,ignored\nshim,1,a,b,c,d\n",
			[]string{sbatLine, "grub,1,a,b,c,d"}, []int{1, 2}},
		{"UTF-8 BOM skipped", "\xef\xbb\xbf" + sbatLine + "\n",
			[]string{sbatLine}, []int{1}},
		{"CRLF and blank lines", "\r\n\n" + sbatLine + "\r\n\r\n\ngrub,2,a,b,c,d\r",
			[]string{sbatLine, "grub,2,a,b,c,d"}, []int{3, 6}},
		{"lone CR ends a line", sbatLine + "\rgrub,2,a,b,c,d",
			[]string{sbatLine, "grub,2,a,b,c,d"}, []int{1, 2}},
		{"fields after the sixth ignored (test_parse_sbat_section_too_many_elem)",
			sbatLine + ",other1,stuff,is,here\ntest2,2,SBAT test2,acme2,2,testURL2,other2,,",
			[]string{sbatLine, "test2,2,SBAT test2,acme2,2,testURL2"}, []int{1, 2}},
		{"no quoting: quotes are part of a field", sbatLine + "\n\"grub\",1,\"a\",b,c,d\n",
			[]string{sbatLine, "\"grub\",1,\"a\",b,c,d"}, []int{1, 2}},
		{"blanks are kept in text fields", sbatLine + "\ngrub,1, Free Software ,b, c ,d\n",
			[]string{sbatLine, "grub,1, Free Software ,b, c ,d"}, []int{1, 2}},
		{"leading zeros in a generation", sbatLine + "\ngrub,0004,a,b,c,d\n",
			[]string{sbatLine, "grub,4,a,b,c,d"}, []int{1, 2}},
		{"many leading zeros", sbatLine + "\ngrub,000000000000000000000000000000000001,a,b,c,d\n",
			[]string{sbatLine, "grub,1,a,b,c,d"}, []int{1, 2}},
		{"largest generation", sbatLine + "\ngrub,65535,a,b,c,d\n",
			[]string{sbatLine, "grub,65535,a,b,c,d"}, []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseSection([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var lines []int
			for _, e := range entries {
				got = append(got, strings.Join([]string{e.Component, strconv.Itoa(int(e.Generation)), e.Vendor, e.Package, e.Version, e.URL}, ","))
				lines = append(lines, e.Line)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("entries\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !slices.Equal(lines, tc.lines) {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
		})
	}
}

// TestParseSectionMalformed: text shim refuses, and text shim would read
// in a way that could differ from what its author meant, is refused with
// the line named.
func TestParseSectionMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"too few fields (test_parse_sbat_section_too_few_elem)", "test1,1,acme", "line 1: 3 fields, an entry has 6"},
		{"no commas (test_parse_sbat_section_no_commas)", "test1", "line 1: 1 fields"},
		{"too few fields on a later line", sbatLine + "\n\ngrub,1,a,b,c\n", "line 3: 5 fields"},
		{"empty field", sbatLine + "\ngrub,1,,b,c,d\n", "line 2: field 3 is empty"},
		{"empty component", sbatLine + "\n,1,a,b,c,d\n", "line 2: field 1 is empty"},
		{"trailing comma leaves the url empty", sbatLine + "\ngrub,1,a,b,c,\n", "line 2: field 6 is empty"},
		{"generation not a number", sbatLine + "\ngrub,x,a,b,c,d\n", `line 2: component grub: generation "x" is not a number from 0 to 65535`},
		{"generation with a blank (shim's atoi: 3)", sbatLine + "\ngrub, 3,a,b,c,d\n", `generation " 3" is not a number`},
		{"generation with a suffix (shim's atoi: 3)", sbatLine + "\ngrub,3a,a,b,c,d\n", `generation "3a" is not a number`},
		{"negative generation", sbatLine + "\ngrub,-1,a,b,c,d\n", `generation "-1" is not a number`},
		{"signed generation", sbatLine + "\ngrub,+4,a,b,c,d\n", `generation "+4" is not a number`},
		{"hex generation", sbatLine + "\ngrub,0x4,a,b,c,d\n", `generation "0x4" is not a number`},
		{"generation over 16 bits (shim: 65536 is 0)", sbatLine + "\ngrub,65536,a,b,c,d\n", `generation "65536" is not a number`},
		{"blank in a component", sbatLine + "\ngrub debian,1,a,b,c,d\n", `line 2: component name "grub debian" is not printable ASCII`},
		{"control byte in a component", sbatLine + "\ngrub\x1b,1,a,b,c,d\n", `component name "grub\x1b"`},
		{"non-ASCII component", sbatLine + "\ngrüb,1,a,b,c,d\n", `component name`},
		{"first entry not sbat", "grub,3,a,b,c,d\n" + sbatLine + "\n", `line 1: the first entry is "grub", it must be "sbat"`},
		{"empty", "", "no entries"},
		{"only NULs", "\x00\x00\x00\x00", "no entries"},
		{"only line ends and a BOM", "\xef\xbb\xbf\r\n\n\r", "no entries"},
		{"NUL before the first entry", "\x00" + sbatLine, "no entries"},
		{"too large", sbatLine + "\n" + strings.Repeat("\x00", MaxSize), "more than the limit"},
		{"too many lines", sbatLine + "\n" + strings.Repeat("grub,1,a,b,c,d\n", MaxEntries), "line 4097: more than 4096 lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseSection([]byte(tc.data))
			if err == nil {
				t.Fatalf("accepted: %+v", entries)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v is not ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseLevelShim(t *testing.T) {
	for _, tc := range shimLevels {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLevel([]byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]uint16{}
			for _, c := range l.Components() {
				got[c], _ = l.Required(c)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if want := strings.SplitN(tc.text, ",", 3)[2][:10]; l.Datestamp != want {
				t.Errorf("datestamp %q, want %q", l.Datestamp, want)
			}
			if l.String() != tc.text {
				t.Errorf("String() = %q, want the input %q", l.String(), tc.text)
			}
		})
	}
	t.Run("ENABLE_SHIM_DEVEL latest", func(t *testing.T) {
		l, err := ParseLevel([]byte(shimDevelLatest))
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := l.Required("othercomponent"); !ok || g != 2 {
			t.Errorf("othercomponent = %d, %v", g, ok)
		}
	})
	t.Run("SBAT.md example without a datestamp", func(t *testing.T) {
		l, err := ParseLevel([]byte("sbat,1\nshim,1\ngrub,1\ngrub.fedora,2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := l.Required("grub.fedora"); g != 2 || l.Datestamp != "" || l.Len() != 4 {
			t.Errorf("grub.fedora %d, datestamp %q, %d components", g, l.Datestamp, l.Len())
		}
	})
	t.Run("variable data with a NUL, as get_variable returns it", func(t *testing.T) {
		l, err := ParseLevel([]byte("sbat,1,2024010900\nshim,4\ngrub,3\ngrub.debian,4\n\x00"))
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := l.Required("grub.debian"); g != 4 {
			t.Errorf("grub.debian %d", g)
		}
	})
}

func TestParseLevelMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "no entries"},
		{"first entry not sbat", "shim,4\nsbat,1,2024010900\n", `line 1: the first entry is "shim", an SbatLevel starts with "sbat,1,<datestamp>"`},
		{"a .sbat section instead of a level", debianStubSBAT, "line 1: too many fields"},
		{"no generation", "sbat,1,2024010900\ngrub\n", `line 2: "grub" has no generation`},
		{"datestamp on another line", "sbat,1,2024010900\ngrub,3,2024010900\n", "line 2: too many fields"},
		{"empty generation", "sbat,1,2024010900\ngrub,\n", "line 2: field 2 is empty"},
		{"empty datestamp", "sbat,1,\n", "line 1: field 3 is empty"},
		{"bad generation", "sbat,1,2024010900\n\ngrub,4a\n", `line 3: component grub: generation "4a" is not a number`},
		{"generation over 16 bits", "sbat,1,2024010900\ngrub,70000\n", `generation "70000"`},
		{"datestamp not digits", "sbat,1,2024-01-09\n", `line 1: datestamp "2024-01-09" is not a number`},
		{"blank in a component", "sbat,1\ngrub debian,4\n", `line 2: component name "grub debian"`},
		{"too large", "sbat,1\n" + strings.Repeat("\n", MaxSize), "more than the limit"},
		{"too many lines", "sbat,1\n" + strings.Repeat("grub,1\n", MaxEntries), "more than 4096 lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLevel([]byte(tc.data))
			if err == nil {
				t.Fatalf("accepted: %q", l)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v is not ErrMalformed", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("%v is not a *SyntaxError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func mustLevel(t *testing.T, text string) *Level {
	t.Helper()
	l, err := ParseLevel([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLevelDuplicateTakesTheHighest(t *testing.T) {
	l := mustLevel(t, "sbat,1,2024010900\ngrub,5\ngrub,3\nsbat,2\n")
	if g, _ := l.Required("grub"); g != 5 {
		t.Errorf("grub %d, want 5 (the strictest of the two lines)", g)
	}
	if g, _ := l.Required("sbat"); g != 2 {
		t.Errorf("sbat %d, want 2", g)
	}
	if l.String() != "sbat,2,2024010900\ngrub,5\n" {
		t.Errorf("String() = %q", l.String())
	}
}

func TestMerge(t *testing.T) {
	rom := mustLevel(t, "sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\n")
	flag := mustLevel(t, "sbat,1,2022052400\nshim,3\nuki,2\n")
	rt := mustLevel(t, "sbat,1,2024040900\nshim,4\ngrub,4\ngrub.peimage,2\n")
	m := Merge(rom, nil, flag, rt)
	want := "sbat,1,2024040900\nshim,4\ngrub,4\ngrub.debian,4\nuki,2\ngrub.peimage,2\n"
	if m.String() != want {
		t.Errorf("merged\n%s\nwant\n%s", m, want)
	}
	// Order does not matter: the strictest wins either way.
	if r := Merge(rt, flag, rom).String(); r != "sbat,1,2024040900\nshim,4\ngrub,4\ngrub.peimage,2\nuki,2\ngrub.debian,4\n" {
		t.Errorf("merged the other way round:\n%s", r)
	}
	// Merging never lowers: the original level merged into a strict one
	// changes nothing.
	if r := Merge(rt, mustLevel(t, "sbat,1,2021030218\n")).String(); r != rt.String() {
		t.Errorf("merging the original level lowered:\n%s", r)
	}
	if Merge().Len() != 0 || Merge(nil, nil).Len() != 0 {
		t.Error("merging nothing is not empty")
	}
	for _, tc := range []struct{ a, b, later string }{
		{"2024010900", "2023012950", "2024010900"},
		{"2023012950", "2024010900", "2024010900"},
		{"99", "100", "100"},
		{"", "2021030218", "2021030218"},
	} {
		if got := Merge(&Level{Datestamp: tc.a}, &Level{Datestamp: tc.b}).Datestamp; got != tc.later {
			t.Errorf("datestamps %q, %q: got %q, want %q", tc.a, tc.b, got, tc.later)
		}
	}
}

func TestCheck(t *testing.T) {
	level := func(name string) *Level {
		for _, l := range shimLevels {
			if strings.Contains(l.name, name) {
				return mustLevel(t, l.text)
			}
		}
		t.Fatalf("no level %s", name)
		return nil
	}
	for _, tc := range []struct {
		name  string
		image string
		level *Level
		want  string // "" for allowed
	}{
		{"Debian grub.debian 3 under the grub.debian revocation", debianGrubSBAT, level("2023012900"), "SBAT: grub.debian generation 3 is revoked (SbatLevel requires 4)"},
		{"Debian grub 3 under the ntfs revocation: grub is checked first", debianGrubSBAT, level("2023091900"), "SBAT: grub generation 3 is revoked (SbatLevel requires 4)"},
		{"Debian grub under an older level", debianGrubSBAT, level("2022111500"), ""},
		{"shim 4 under the January 2024 revocation", shimSBAT, level("2024010900"), ""},
		{"shim 4 under a level requiring 5", shimSBAT, mustLevel(t, "sbat,1,2030010100\nshim,5\n"), "SBAT: shim generation 4 is revoked (SbatLevel requires 5)"},
		{"RHEL grub 1 under the first grub revocation", rhelGrubSBAT, level("grub CVE-2022-28733"), "SBAT: grub generation 1 is revoked (SbatLevel requires 2)"},
		{"the stub under the latest level: components not named are not checked", debianStubSBAT, level("2025051000"), ""},
		{"the stub with systemd.debian revoked", debianStubSBAT, mustLevel(t, "sbat,1,2030010100\nsystemd.debian,2\n"), "SBAT: systemd.debian generation 1 is revoked (SbatLevel requires 2)"},
		{"the image's own sbat generation below the level's", ukifySBAT, mustLevel(t, "sbat,2,2030010100\n"), "SBAT: sbat generation 1 is revoked (SbatLevel requires 2)"},
		{"generation equal to the level's", ukifyAddonSBAT, mustLevel(t, "sbat,1\nuki-addon,1\n"), ""},
		{"generation above the level's", debianGrubSBAT, mustLevel(t, "sbat,1\ngrub,2\ngrub.debian,2\n"), ""},
		{"no level", debianGrubSBAT, nil, ""},
		{"empty level", debianGrubSBAT, &Level{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseSection([]byte(tc.image))
			if err != nil {
				t.Fatal(err)
			}
			err = Check(entries, tc.level)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			var re *RevokedError
			if !errors.As(err, &re) || !errors.Is(err, ErrRevoked) {
				t.Errorf("%v is not a *RevokedError", err)
			}
		})
	}
	t.Run("no entries under a level", func(t *testing.T) {
		if err := Check(nil, level("original")); !errors.Is(err, ErrNoSection) {
			t.Errorf("got %v, want ErrNoSection", err)
		}
		if err := Check(nil, nil); err != nil {
			t.Errorf("no level: %v", err)
		}
	})
}
