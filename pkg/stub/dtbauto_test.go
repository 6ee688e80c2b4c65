package stub_test

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/smbios"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// dtb is a devicetree blob whose root is compatible with compat.
func dtb(compat ...string) []byte {
	return ukitest.FDT(ukitest.FDTProp{Name: "model", Value: ukitest.StringList("Board")},
		ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList(compat...)})
}

// dtMachine is a root file system whose kernel has a devicetree.
func dtMachine(compat ...string) fstest.MapFS {
	fsys := fstest.MapFS{"proc/device-tree/model": {Data: []byte("Board\x00")}}
	if len(compat) > 0 {
		fsys["proc/device-tree/compatible"] = &fstest.MapFile{Data: ukitest.StringList(compat...)}
	}
	return fsys
}

// mergeFS returns the files of both.
func mergeFS(a, b fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for _, m := range []fstest.MapFS{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// smbiosStrings appends a structure's strings and the terminating NULs.
func smbiosStrings(b []byte, strs ...string) []byte {
	for _, s := range strs {
		b = append(append(b, s...), 0)
	}
	return append(b, 0)
}

// smbiosMachine is a root file system with SMBIOS types 1 and 2 and no
// devicetree.
func smbiosMachine(manufacturer, family, product, sku, boardVendor, board string) fstest.MapFS {
	t1 := make([]byte, 0x1b)
	t1[0], t1[1] = 1, 0x1b
	t1[4], t1[5], t1[0x19], t1[0x1a] = 1, 2, 3, 4
	t2 := []byte{2, 8, 1, 0, 1, 2, 0, 0}
	return fstest.MapFS{
		smbios.EntriesDir + "/1-0/raw": {Data: smbiosStrings(t1, manufacturer, product, sku, family)},
		smbios.EntriesDir + "/2-0/raw": {Data: smbiosStrings(t2, boardVendor, board)},
	}
}

// chidOf returns CHID n of the machine, as a .hwids entry stores it.
func chidOf(t *testing.T, fsys fstest.MapFS, n int) [16]byte {
	t.Helper()
	fl, err := smbios.ReadCHIDFields(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return fl.CHIDs()[n].GUIDBytes()
}

func profileOf(t *testing.T, img []byte, n int) *uki.Profile {
	t.Helper()
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "dt.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Profile(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChooseDTBAuto: the .dtbauto systemd-stub's pe_locate_sections picks
// (pe_use_this_dtb: devicetree_match against the firmware's devicetree,
// else chid_match against .hwids and devicetree_match_by_compatible), with
// the running kernel's devicetree standing in for the firmware's.
func TestChooseDTBAuto(t *testing.T) {
	laptop := smbiosMachine("LENOVO", "ThinkPad X13s", "21BX0015US", "LENOVO_MT_21BX", "LENOVO", "21BX0015US")
	a, b := dtb("vendor,board-a", "vendor,soc"), dtb("vendor,board-b", "vendor,soc")
	x13s := dtb("lenovo,thinkpad-x13s", "qcom,sc8280xp")
	hw := func(fsys fstest.MapFS) stub.Hardware { return stub.ReadHardware(fsys) }
	hwids := func(e ...ukitest.HWID) ukitest.Section { return ukitest.B(".hwids", ukitest.HWIDs(e...)) }
	dt := func(chid [16]byte, name, compat string) ukitest.HWID {
		return ukitest.HWID{Type: 1, CHID: chid, Name: name, Compatible: compat}
	}
	k := ukitest.S(".linux", "K")
	for _, c := range []struct {
		name    string
		secs    []ukitest.Section
		profile int
		hw      stub.Hardware
		index   int // of the chosen section; -1 for none
		known   bool
		why     string
	}{
		{"running devicetree picks by its first compatible", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.B(".dtbauto", b)},
			0, hw(dtMachine("vendor,board-b", "vendor,soc")), 2, true, `compatible with "vendor,board-b"`},
		{"only first strings are compared", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.B(".dtbauto", b)},
			0, hw(dtMachine("vendor,soc")), -1, true, "no .dtbauto is"},
		{"devicetree with an empty compatible: none, .hwids not consulted", []ukitest.Section{k, ukitest.B(".dtbauto", a), hwids(dt(chidOf(t, laptop, 3), "X13s", "vendor,board-a"))},
			0, hw(dtMachine("")), -1, true, "is empty"},
		{"Linux's own empty devicetree root (ACPI) is no firmware devicetree: .hwids decides", []ukitest.Section{k, ukitest.B(".dtbauto", a), hwids(dt(chidOf(t, laptop, 3), "X13s", "vendor,board-a"))},
			0, hw(mergeFS(dtMachine(), laptop)), 1, true, "SMBIOS CHID 3"},
		{"a blob that is no devicetree is skipped", []ukitest.Section{k, ukitest.S(".dtbauto", "not a devicetree at all, but long enough to have a header"), ukitest.B(".dtbauto", b)},
			0, hw(dtMachine("vendor,board-b")), 2, true, ""},
		{"SMBIOS CHID against .hwids", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.B(".dtbauto", x13s), hwids(dt(chidOf(t, laptop, 3), "Lenovo ThinkPad X13s", "lenovo,thinkpad-x13s"))},
			0, hw(laptop), 2, true, `SMBIOS CHID 3 (`},
		{"the most specific CHID wins over table order", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.B(".dtbauto", x13s),
			hwids(dt(chidOf(t, laptop, 11), "any ThinkPad", "vendor,board-a"), dt(chidOf(t, laptop, 4), "X13s", "lenovo,thinkpad-x13s"))},
			0, hw(laptop), 2, true, "SMBIOS CHID 4"},
		{"no CHID listed", []ukitest.Section{k, ukitest.B(".dtbauto", x13s), hwids(dt([16]byte{1}, "other", "lenovo,thinkpad-x13s"))},
			0, hw(laptop), -1, true, "none of this machine's CHIDs"},
		{"malformed .hwids: none", []ukitest.Section{k, ukitest.B(".dtbauto", x13s), hwids(ukitest.HWID{Type: 3, CHID: chidOf(t, laptop, 3)})},
			0, hw(laptop), -1, true, "malformed"},
		{"no devicetree and no .hwids: none", []ukitest.Section{k, ukitest.B(".dtbauto", x13s)},
			0, hw(laptop), -1, true, "no .hwids"},
		{"SMBIOS unreadable: unknown", []ukitest.Section{k, ukitest.B(".dtbauto", x13s), hwids(dt(chidOf(t, laptop, 3), "X13s", "lenovo,thinkpad-x13s"))},
			0, hw(fstest.MapFS{}), -1, false, "dmi-sysfs"},
		{"machine not read: unknown", []ukitest.Section{k, ukitest.B(".dtbauto", a)},
			0, stub.Hardware{}, -1, false, "not read"},
		{"a profile's matching .dtbauto wins", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.S(".profile", "ID=one"), ukitest.B(".dtbauto", b), ukitest.B(".dtbauto", a)},
			0, hw(dtMachine("vendor,board-a")), 4, true, ""},
		{"a profile's .dtbauto matching nothing leaves the base's", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.S(".profile", "ID=one"), ukitest.B(".dtbauto", b)},
			0, hw(dtMachine("vendor,board-a")), 1, true, ""},
		{"a profile's empty .dtbauto leaves the base's", []ukitest.Section{k, ukitest.B(".dtbauto", a), ukitest.S(".profile", "ID=one"), {Name: ".dtbauto"}},
			0, hw(dtMachine("vendor,board-a")), 1, true, ""},
		{"a profile's .hwids is its own", []ukitest.Section{k, ukitest.B(".dtbauto", a), hwids(dt(chidOf(t, laptop, 3), "X13s", "vendor,board-a")),
			ukitest.S(".profile", "ID=one"), ukitest.B(".dtbauto", x13s)},
			0, hw(laptop), 1, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := stub.ChooseDTBAuto(profileOf(t, ukitest.UKI(c.secs...), c.profile), c.hw)
			idx := -1
			if got.Section != nil {
				idx = got.Section.Index
			}
			if idx != c.index || got.Known != c.known || !strings.Contains(got.Why, c.why) {
				t.Errorf("chose %d known %v (%s), want %d known %v saying %q", idx, got.Known, got.Why, c.index, c.known, c.why)
			}
		})
	}
}

// TestPlanMeasuresChosenDTBAuto: the chosen .dtbauto is measured into
// PCR 11 as systemd-stub's measure_sections does (name with its NUL, then
// contents), after .profile and before .hwids; the plan says it cannot be
// handed on; when the choice cannot be made, it says PCR 11 cannot match.
func TestPlanMeasuresChosenDTBAuto(t *testing.T) {
	esp := t.TempDir()
	a, b := dtb("vendor,board-a"), dtb("vendor,board-b")
	write(t, esp, "EFI/Linux/dt.efi", ukitest.UKI(ukitest.S(".osrel", "ID=dt\n"), ukitest.S(".linux", "KERNEL"),
		ukitest.B(".dtbauto", a), ukitest.B(".dtbauto", b), ukitest.B(".hwids", ukitest.HWIDs())))
	for _, c := range []struct {
		name string
		hw   stub.Hardware
		want []byte // the measured blob; nil for none
		note string
	}{
		{"chosen", stub.ReadHardware(dtMachine("vendor,board-b")), b, "section 3 chosen as systemd-stub would"},
		{"unknown", stub.Hardware{}, nil, "PCR 11 cannot match ukify's signed predictions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := stub.Build(target(t, esp, "dt.efi"), stub.Policy{Hardware: c.hw})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var names []string
			var digest [32]byte
			for i, m := range p.Events {
				if m.PCR != stub.PCRKernelBoot || sha(m) != sha256.Sum256([]byte(m.Description+"\x00")) {
					continue
				}
				names = append(names, m.Description)
				if m.Description == ".dtbauto" {
					digest = sha(p.Events[i+1])
				}
			}
			wantNames := ".linux .osrel .hwids"
			if c.want != nil {
				wantNames = ".linux .osrel .dtbauto .hwids"
				if digest != sha256.Sum256(c.want) {
					t.Errorf(".dtbauto measured as %x, want the chosen blob's %x", digest, sha256.Sum256(c.want))
				}
			}
			if got := strings.Join(names, " "); got != wantNames {
				t.Errorf("PCR 11 sections %q, want %q", got, wantNames)
			}
			if notes := strings.Join(p.Notes, "\n"); !strings.Contains(notes, c.note) {
				t.Errorf("notes lack %q:\n%s", c.note, notes)
			}
		})
	}
}
