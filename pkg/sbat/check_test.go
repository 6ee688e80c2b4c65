package sbat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

func readUKI(t *testing.T, b []byte, kind uki.Kind) *uki.File {
	t.Helper()
	f, err := uki.Read(bytes.NewReader(b), int64(len(b)), "test.efi", kind)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The level of the grub.debian revocation plus a few components of UKIs.
const testLevel = "sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\nsystemd.debian,2\nuki-addon,2\n"

func TestCheckImage(t *testing.T) {
	level := mustLevel(t, testLevel)
	osrel := ukitest.S(".osrel", "ID=debian\n")
	linux := ukitest.S(".linux", "KERNEL")
	goodSBAT := sbatLine + "\nsystemd.debian,2,Debian GNU/Linux,systemd,252.40,https://bugs.debian.org/\n\x00"
	relocated, lay := ukitest.Image{Sections: []ukitest.Section{osrel, ukitest.S(".sbat", goodSBAT), linux}}.Build()
	binary.LittleEndian.PutUint16(relocated[lay.SectionHeaders[1]+32:], 1)
	for _, tc := range []struct {
		name  string
		image []byte
		kind  uki.Kind
		level *Level
		want  string  // "" for allowed, else the whole message or a part
		is    []error // errors.Is targets
	}{
		{"UKI with a fixed systemd.debian",
			ukitest.UKI(osrel, ukitest.S(".sbat", goodSBAT), linux), uki.KindUKI, level, "", nil},
		{"UKI built from the revoked Debian stub",
			ukitest.UKI(osrel, ukitest.S(".sbat", ukifySBAT), linux), uki.KindUKI, level,
			"SBAT: systemd.debian generation 1 is revoked (SbatLevel requires 2)", []error{ErrRevoked}},
		{"addon with ukify's default generation",
			ukitest.UKI(ukitest.S(".cmdline", "quiet"), ukitest.S(".sbat", ukifyAddonSBAT)), uki.KindAddon, level,
			"SBAT: uki-addon generation 1 is revoked (SbatLevel requires 2)", []error{ErrRevoked}},
		{"addon allowed by a level that does not name it",
			ukitest.UKI(ukitest.S(".cmdline", "quiet"), ukitest.S(".sbat", ukifyAddonSBAT)), uki.KindAddon, mustLevel(t, "sbat,1,2024010900\nshim,4\ngrub,3\ngrub.debian,4\n"), "", nil},
		{"UKI without .sbat under a level",
			ukitest.UKI(osrel, linux), uki.KindUKI, level,
			"SBAT: no .sbat section: the image has none and an SbatLevel is set (shim refuses such images)", []error{ErrNoSection}},
		{"UKI without .sbat and no level",
			ukitest.UKI(osrel, linux), uki.KindUKI, nil, "", nil},
		{"revoked UKI and an empty level",
			ukitest.UKI(osrel, ukitest.S(".sbat", ukifySBAT), linux), uki.KindUKI, &Level{}, "", nil},
		{"malformed .sbat under a level",
			ukitest.UKI(osrel, ukitest.S(".sbat", sbatLine+"\nsystemd.debian,two,Debian,systemd,252,https://bugs.debian.org/\n"), linux), uki.KindUKI, level,
			`SBAT: .sbat section: line 2: component systemd.debian: generation "two" is not a number from 0 to 65535`, []error{ErrMalformed}},
		{"all-NUL .sbat (shim accepts it: no entries to check)",
			ukitest.UKI(osrel, ukitest.B(".sbat", make([]byte, 64)), linux), uki.KindUKI, level,
			"SBAT: .sbat section: no entries", []error{ErrMalformed}},
		{"a second .sbat in a profile",
			ukitest.UKI(osrel, ukitest.S(".sbat", goodSBAT), linux, ukitest.S(".profile", "ID=debug\n"), ukitest.S(".sbat", goodSBAT)), uki.KindUKI, level,
			"SBAT: malformed SBAT data: 2 .sbat sections (sections 1 and 4); shim refuses an image with more than one", []error{ErrMalformed}},
		{"only a profile's .sbat counts as the image's",
			ukitest.UKI(osrel, linux, ukitest.S(".profile", "ID=debug\n"), ukitest.S(".sbat", ukifySBAT)), uki.KindUKI, level,
			"SBAT: systemd.debian generation 1 is revoked", []error{ErrRevoked}},
		{".sbat with relocations",
			relocated, uki.KindUKI, level,
			"SBAT: malformed SBAT data: .sbat (section 1) has relocations (1 at 0x0); shim refuses it", []error{ErrMalformed}},
		{"VirtualSize beyond SizeOfRawData: shim ignores the section",
			ukitest.UKI(osrel, ukitest.Section{Name: ".sbat", Data: []byte(goodSBAT), RawSize: 0x200, VirtualSize: 0x300}, linux), uki.KindUKI, level,
			"SBAT: no .sbat section: .sbat (section 1) has SizeOfRawData 0x200 and VirtualSize 0x300", []error{ErrNoSection}},
		{"entries in the raw data beyond VirtualSize are read, as shim reads them",
			ukitest.UKI(osrel, ukitest.Section{Name: ".sbat", Data: []byte(sbatLine + "\ngrub,2,FSF,grub,2.06,https://www.gnu.org/software/grub/\n"), VirtualSize: uint32(len(sbatLine) + 1)}, linux), uki.KindUKI, level,
			"SBAT: grub generation 2 is revoked (SbatLevel requires 3)", []error{ErrRevoked}},
		{"the NUL at the end of VirtualSize hides what follows from shim and from ukiboot",
			ukitest.UKI(osrel, ukitest.Section{Name: ".sbat", Data: []byte(sbatLine + "\n\x00grub,2,FSF,grub,2.06,https://www.gnu.org/software/grub/\n"), VirtualSize: uint32(len(sbatLine) + 2)}, linux), uki.KindUKI, level, "", nil},
		{".sbat over the size limit",
			ukitest.UKI(osrel, ukitest.Section{Name: ".sbat", Data: []byte(goodSBAT), RawSize: MaxSize + 0x200}, linux), uki.KindUKI, level,
			"SBAT: malformed SBAT data: .sbat is 1049088 bytes, more than the limit of 1048576", []error{ErrMalformed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := readUKI(t, tc.image, tc.kind)
			err := CheckImage(f, tc.level)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("%v is not %v", err, target)
				}
			}
		})
	}
}

// TestCheckImageDebianStub: a UKI made from Debian's systemd-stub with
// objcopy carries the stub's own .sbat (systemd.debian generation 1).
func TestCheckImageDebianStub(t *testing.T) {
	path := ukitest.ObjcopyUKI(t, t.TempDir(), []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\n"), ukitest.S(".linux", "KERNEL"),
	})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := readUKI(t, b, uki.KindUKI)
	entries, err := ReadImage(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := components(entries); got["systemd"] != 1 || got["systemd.debian"] != 1 || entries[0].Component != "sbat" {
		t.Fatalf("entries %+v", entries)
	}
	for _, tc := range []struct {
		level, want string
	}{
		{shimLevels[len(shimLevels)-1].text, ""},
		{testLevel, "SBAT: systemd.debian generation 1 is revoked (SbatLevel requires 2)"},
		{"sbat,1,2030010100\nsystemd,2\n", "SBAT: systemd generation 1 is revoked (SbatLevel requires 2)"},
	} {
		err := CheckImage(f, mustLevel(t, tc.level))
		if (err == nil) != (tc.want == "") || (err != nil && err.Error() != tc.want) {
			t.Errorf("level %q: got %v, want %q", tc.level, err, tc.want)
		}
	}
}
