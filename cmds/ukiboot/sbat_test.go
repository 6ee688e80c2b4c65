package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/sbat"
)

// sbatPlatform is a platform whose trust store, efivarfs and MOK table are
// temporary directories.
func sbatPlatform(t *testing.T) platform {
	d := t.TempDir()
	p := platform{lockdownPath: filepath.Join(d, "lockdown"), efivarsDir: filepath.Join(d, "efivars"),
		mokVarsDir: filepath.Join(d, "mok-variables"), trustDir: filepath.Join(d, "etc")}
	for _, dir := range []string{p.efivarsDir, p.mokVarsDir, p.trustDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p platform) romLevel() string { return filepath.Join(p.trustDir, "sbatlevel") }
func (p platform) efivarsLevel() string {
	return filepath.Join(p.efivarsDir, "SbatLevelRT-"+authenticode.ShimLockGUID)
}
func (p platform) mokLevel() string { return filepath.Join(p.mokVarsDir, "SbatLevelRT") }

// efivar is an efivarfs file: the attribute word, then the data.
func efivar(attrs uint32, data string) []byte {
	return append([]byte{byte(attrs), byte(attrs >> 8), byte(attrs >> 16), byte(attrs >> 24)}, data...)
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSbatLevelSources(t *testing.T) {
	// Levels shim has shipped (SbatLevel_Variable.txt).
	const (
		original = "sbat,1,2021030218\n"
		debian   = "sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\n"
		jan2024  = "sbat,1,2024010900\nshim,4\ngrub,3\ngrub.debian,4\n"
		apr2024  = "sbat,1,2024040900\nshim,4\ngrub,4\ngrub.peimage,2\n"
	)
	type files struct{ rom, flag, efivar, mok string }
	for _, tc := range []struct {
		name    string
		files   files
		efiAttr uint32
		want    string   // the merged level in shim's format; "" for none
		sources []string // with <rom>, <flag>, <efivar>, <mok> for the paths
	}{
		{"nothing anywhere", files{}, 0, "", nil},
		{"the ROM's file", files{rom: debian}, 0, debian, []string{"trust store <rom>"}},
		{"-sbatlevel", files{flag: jan2024}, 0, jan2024, []string{"-sbatlevel <flag>"}},
		{"efivarfs SbatLevelRT as shim writes it (test-data/efivars-1)", files{efivar: original}, 0x6, original, []string{"shim's SbatLevelRT <efivar>"}},
		{"the MOK table's SbatLevelRT", files{mok: apr2024}, 0, apr2024, []string{"shim's SbatLevelRT <mok>"}},
		{"every source, the strictest wins per component", files{rom: debian, flag: jan2024, efivar: original, mok: apr2024}, 0x6,
			"sbat,1,2024040900\nshim,4\ngrub,4\ngrub.debian,4\ngrub.peimage,2\n",
			[]string{"trust store <rom>", "-sbatlevel <flag>", "shim's SbatLevelRT <efivar>", "shim's SbatLevelRT <mok>"}},
		{"an older SbatLevelRT does not lift the ROM's revocations", files{rom: apr2024, efivar: debian}, 0x6,
			"sbat,1,2024040900\nshim,4\ngrub,4\ngrub.peimage,2\ngrub.debian,4\n",
			[]string{"trust store <rom>", "shim's SbatLevelRT <efivar>"}},
		{"a non-volatile SbatLevelRT still revokes", files{efivar: jan2024}, 0x7, jan2024,
			[]string{"shim's SbatLevelRT <efivar> (non-volatile, attributes 0x7: not the variable shim creates; its revocations count all the same)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sbatPlatform(t)
			var o options
			flag := filepath.Join(t.TempDir(), "level.csv")
			if tc.files.rom != "" {
				write(t, p.romLevel(), []byte(tc.files.rom))
			}
			if tc.files.flag != "" {
				write(t, flag, []byte(tc.files.flag))
				o.sbatLevel = stringList{flag}
			}
			if tc.files.efivar != "" {
				write(t, p.efivarsLevel(), efivar(tc.efiAttr, tc.files.efivar))
			}
			if tc.files.mok != "" {
				write(t, p.mokLevel(), []byte(tc.files.mok))
			}
			l, sources, err := p.sbatLevel(&o)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.String(); l.Len() == 0 && tc.want != "" || l.Len() > 0 && got != tc.want {
				t.Errorf("level\n%s\nwant\n%s", got, tc.want)
			}
			var want []string
			for _, s := range tc.sources {
				want = append(want, strings.NewReplacer("<rom>", p.romLevel(), "<flag>", flag, "<efivar>", p.efivarsLevel(), "<mok>", p.mokLevel()).Replace(s))
			}
			if !slices.Equal(sources, want) {
				t.Errorf("sources\n%q\nwant\n%q", sources, want)
			}
		})
	}
}

func TestSbatLevelErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, p platform, o *options)
		want  string // with <rom>, <efivar>, <mok>, <dir> for paths
	}{
		{"malformed ROM file", func(t *testing.T, p platform, o *options) {
			write(t, p.romLevel(), []byte("sbat,1,2024010900\nshim,4\ngrub,three\n"))
		}, `trust store <rom>: not an SbatLevel (shim's format: "sbat,1,<datestamp>", then a "component,generation" line each): line 3: component grub: generation "three" is not a number from 0 to 65535`},
		{"a .sbat section given as a level", func(t *testing.T, p platform, o *options) {
			write(t, p.romLevel(), []byte("sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"))
		}, "trust store <rom>: not an SbatLevel (shim's format: \"sbat,1,<datestamp>\", then a \"component,generation\" line each): line 1: too many fields"},
		{"empty ROM file", func(t *testing.T, p platform, o *options) {
			write(t, p.romLevel(), nil)
		}, "trust store <rom>: not an SbatLevel (shim's format: \"sbat,1,<datestamp>\", then a \"component,generation\" line each): no entries"},
		{"ROM sbatlevel is a directory", func(t *testing.T, p platform, o *options) {
			os.Mkdir(p.romLevel(), 0o755)
		}, "trust store <rom>: a directory, not a file"},
		{"missing -sbatlevel file", func(t *testing.T, p platform, o *options) {
			o.sbatLevel = stringList{filepath.Join(p.trustDir, "nope")}
		}, "-sbatlevel <dir>/nope: no such file"},
		{"-sbatlevel that is too large", func(t *testing.T, p platform, o *options) {
			big := filepath.Join(p.trustDir, "big")
			write(t, big, append([]byte("sbat,1\n"), make([]byte, sbat.MaxSize)...))
			o.sbatLevel = stringList{big}
		}, "-sbatlevel <dir>/big: larger than 1048576 bytes"},
		{"efivarfs file without its attribute word", func(t *testing.T, p platform, o *options) {
			write(t, p.efivarsLevel(), []byte{6, 0})
		}, "shim's SbatLevelRT <efivar>: 2 bytes, shorter than the 4-byte attribute word of an efivarfs file"},
		{"efivarfs SbatLevelRT read without skipping the attributes would be garbage", func(t *testing.T, p platform, o *options) {
			write(t, p.efivarsLevel(), efivar(6, "grub,3\n"))
		}, `shim's SbatLevelRT <efivar>: not an SbatLevel (shim's format: "sbat,1,<datestamp>", then a "component,generation" line each): line 1: the first entry is "grub"`},
		{"malformed MOK table entry", func(t *testing.T, p platform, o *options) {
			write(t, p.mokLevel(), []byte("sbat,1,2024010900\nshim\n"))
		}, `shim's SbatLevelRT <mok>: not an SbatLevel (shim's format: "sbat,1,<datestamp>", then a "component,generation" line each): line 2: "shim" has no generation`},
		{"a broken source stops the others", func(t *testing.T, p platform, o *options) {
			write(t, p.romLevel(), []byte("sbat,1\n"))
			write(t, p.mokLevel(), []byte("shim,4\n"))
		}, `shim's SbatLevelRT <mok>: not an SbatLevel`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sbatPlatform(t)
			var o options
			tc.setup(t, p, &o)
			l, _, err := p.sbatLevel(&o)
			want := strings.NewReplacer("<rom>", p.romLevel(), "<efivar>", p.efivarsLevel(), "<mok>", p.mokLevel(), "<dir>", p.trustDir).Replace(tc.want)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("got %v (level %q), want %q", err, l, want)
			}
		})
	}
}

func TestSbatLevelFollowsSymlinks(t *testing.T) {
	p := sbatPlatform(t)
	target := filepath.Join(t.TempDir(), "fleet-sbatlevel")
	write(t, target, []byte("sbat,1,2025021800\nshim,4\ngrub,5\n"))
	if err := os.Symlink(target, p.romLevel()); err != nil {
		t.Fatal(err)
	}
	l, _, err := p.sbatLevel(&options{})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := l.Required("grub"); g != 5 {
		t.Errorf("grub %d, want 5", g)
	}
	// A dangling link is not a missing file: it is an error.
	os.Remove(target)
	if _, _, err := p.sbatLevel(&options{}); err == nil || !strings.HasPrefix(err.Error(), "trust store "+p.romLevel()+": a symbolic link to ") {
		t.Fatalf("dangling link: %v", err)
	}
}

func TestSbatLevelVerifyOff(t *testing.T) {
	p := sbatPlatform(t)
	write(t, p.romLevel(), []byte("not a level"))
	l, sources, err := p.sbatLevel(&options{verify: "off"})
	if err != nil || l != nil || sources != nil {
		t.Fatalf("-verify off read the level: %v %v %v", l, sources, err)
	}
}

func TestSbatLevelFlag(t *testing.T) {
	dir := t.TempDir()
	level := filepath.Join(dir, "level")
	write(t, level, []byte("sbat,1\n"))
	img := filepath.Join(dir, "a.efi")
	write(t, img, ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".linux", "K")))
	var stdout, stderr bytes.Buffer
	f := &fakeSystem{platform: sbatPlatform(t)}
	if rc := runWith([]string{"-inspect", img, "-sbatlevel", level, "-sbatlevel", level}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d: %s", rc, stderr.String())
	}
}
