package stub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/ukiboot/ukiboot/pkg/smbios"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// .dtbauto: a UKI may carry several devicetrees, of which systemd-stub
// picks one for the machine it runs on (systemd src/boot/pe.c
// pe_locate_sections, pe_use_this_dtb), installs it and measures it into
// PCR 11 (stub.c measure_sections). It compares the first string of each
// blob's root "compatible" with the firmware's devicetree
// (devicetree.c devicetree_match); when the firmware has none, with the
// "compatible" of the .hwids entry that the machine's SMBIOS CHIDs match
// (chid.c chid_match). ukiboot makes the same choice with what the running
// kernel knows: its devicetree (/proc/device-tree, which the firmware gave
// it) stands in for the firmware's, and SMBIOS comes from dmi-sysfs.
//
// The chosen blob cannot be handed on: kexec_file_load has no devicetree
// argument on x86, and on arm64 the kernel builds the next kernel's
// devicetree from its own (of_kexec_alloc_and_setup_fdt). It is still
// measured, so that PCR 11 is what the stub would have made.

// Hardware is what .dtbauto sections are matched against. The zero value
// knows nothing: no .dtbauto is chosen, and the plan says PCR 11 cannot be
// predicted.
type Hardware struct {
	// Read is set by ReadHardware.
	Read bool
	// DeviceTree says the firmware gave the running kernel a devicetree:
	// its root has a "compatible" property (which the devicetree
	// specification requires; the empty root Linux makes for itself on
	// ACPI machines has none, and does not count). Compatible is the
	// property's first string.
	DeviceTree bool
	Compatible string
	// CHIDs are the machine's CHIDs, when SMBIOS could be read (CHIDErr
	// says why not).
	CHIDs   *[smbios.NumCHIDs]smbios.CHID
	CHIDErr error
}

// Where Linux shows its devicetree's root "compatible", relative to "/".
const (
	procDTCompatible  = "proc/device-tree/compatible"
	sysfsDTCompatible = "sys/firmware/devicetree/base/compatible"
)

// ReadHardware reads the running kernel's devicetree root "compatible" and
// the SMBIOS CHIDs from fsys (rooted at "/"; nil: nothing is read).
// SMBIOS is read only without a devicetree, as systemd-stub consults
// .hwids only then.
func ReadHardware(fsys fs.FS) Hardware {
	if fsys == nil {
		return Hardware{}
	}
	hw := Hardware{Read: true}
	for _, name := range []string{procDTCompatible, sysfsDTCompatible} {
		b, err := fs.ReadFile(fsys, name)
		// A property must end in a NUL (devicetree_get_compatible).
		if err == nil && len(b) > 0 && b[len(b)-1] == 0 {
			hw.DeviceTree, hw.Compatible = true, string(b[:bytes.IndexByte(b, 0)])
			return hw
		}
	}
	fl, err := smbios.ReadCHIDFields(fsys)
	if err != nil {
		hw.CHIDErr = err
		return hw
	}
	ids := fl.CHIDs()
	hw.CHIDs = &ids
	return hw
}

// DTBAutoChoice is the outcome of choosing a .dtbauto section.
type DTBAutoChoice struct {
	// Section is the chosen section; nil when none is.
	Section *uki.Section
	// Known says ukiboot could tell what systemd-stub would choose (which
	// may be none); when false, PCR 11 cannot be predicted.
	Known bool
	// Why says how the section was chosen, or why none was.
	Why string
}

// ChooseDTBAuto chooses the .dtbauto section of prof as systemd-stub's
// find_sections does: among the base's, then among the profile's own,
// which win if one matches. It reports Known with no section when prof has
// no .dtbauto.
func ChooseDTBAuto(prof *uki.Profile, hw Hardware) DTBAutoChoice {
	base, own := prof.Layers()
	if !HasDTBAuto(prof) {
		return DTBAutoChoice{Known: true, Why: "no .dtbauto section"}
	}
	if !hw.Read {
		return DTBAutoChoice{Why: "the machine's devicetree and SMBIOS were not read"}
	}
	c := chooseIn(base, hw)
	if hasNamed(own, uki.SectionDTBAuto) {
		if o := chooseIn(own, hw); o.Section != nil || !o.Known {
			return o
		}
	}
	return c
}

// HasDTBAuto reports whether the base or the profile's own sections
// include a .dtbauto.
func HasDTBAuto(prof *uki.Profile) bool {
	base, own := prof.Layers()
	return hasNamed(base, uki.SectionDTBAuto) || hasNamed(own, uki.SectionDTBAuto)
}

func hasNamed(secs []*uki.Section, name string) bool {
	for _, s := range secs {
		if s.Name == name {
			return true
		}
	}
	return false
}

// chooseIn chooses among the .dtbauto sections of one layer
// (pe_locate_sections with its .hwids).
func chooseIn(secs []*uki.Section, hw Hardware) DTBAutoChoice {
	if !hasNamed(secs, uki.SectionDTBAuto) {
		return DTBAutoChoice{Known: true, Why: "no .dtbauto section"}
	}
	var want, how string
	switch {
	case hw.DeviceTree && hw.Compatible == "":
		return DTBAutoChoice{Known: true, Why: "the first compatible string of the running kernel's devicetree is empty"}
	case hw.DeviceTree:
		want, how = hw.Compatible, fmt.Sprintf("the running kernel's devicetree is compatible with %q", hw.Compatible)
	default:
		var hwids *uki.Section
		for _, s := range secs {
			if s.Name == uki.SectionHWIDs {
				hwids = s // the first one, even if empty (pe_locate_sections_internal)
				break
			}
		}
		if hwids == nil || hwids.Size() == 0 {
			return DTBAutoChoice{Known: true, Why: "no devicetree and no .hwids to match SMBIOS against"}
		}
		if hw.CHIDs == nil {
			return DTBAutoChoice{Why: fmt.Sprintf("no devicetree, and SMBIOS could not be read for .hwids: %v", hw.CHIDErr)}
		}
		data, err := hwids.ReadAll(MaxHWIDsSize)
		if err != nil {
			return DTBAutoChoice{Why: fmt.Sprintf("reading .hwids: %v", err)}
		}
		dev, err := matchHWIDs(data, hw.CHIDs)
		if err != nil {
			return DTBAutoChoice{Known: true, Why: fmt.Sprintf(".hwids: %v", err)}
		}
		if dev.compatible == "" {
			return DTBAutoChoice{Known: true, Why: fmt.Sprintf(".hwids entry %q (CHID %d, %s) names no compatible", dev.name, dev.chidIndex, dev.chid)}
		}
		want = dev.compatible
		how = fmt.Sprintf("SMBIOS CHID %d (%s) matches .hwids entry %q, compatible with %q", dev.chidIndex, dev.chid, dev.name, dev.compatible)
	}
	for _, s := range secs {
		if s.Name != uki.SectionDTBAuto {
			continue
		}
		if compat, ok := dtbCompatible(s); ok && compat == want {
			return DTBAutoChoice{Section: s, Known: true, Why: how}
		}
	}
	return DTBAutoChoice{Known: true, Why: how + ", and no .dtbauto is"}
}

// MaxHWIDsSize and MaxDTBSize bound what ukiboot reads of a .hwids or
// .dtbauto section to match it. systemd-stub has no such bound; real
// tables and devicetrees are kilobytes (systemd's devicetree_install
// refuses files over 32 MiB), so the choice differs only for a UKI that
// carries a larger one.
const (
	MaxHWIDsSize = 1 << 20
	MaxDTBSize   = 32 << 20
)

// dtbCompatible returns the first string of a .dtbauto blob's root
// "compatible" (devicetree_match_by_compatible): false for a blob that is
// not a valid devicetree, which systemd-stub skips.
func dtbCompatible(s *uki.Section) (string, bool) {
	if s.VirtualAddress%4 != 0 || s.Size() < fdtHeaderSize || s.Size() > MaxDTBSize {
		return "", false // the stub wants it 4-byte aligned in memory
	}
	b, err := s.ReadAll(MaxDTBSize)
	if err != nil {
		return "", false
	}
	return fdtCompatible(b)
}

// The flattened devicetree format (devicetree specification, chapter 5).
const (
	fdtMagic      = 0xd00dfeed
	fdtHeaderSize = 40
	fdtBeginNode  = 1
	fdtProp       = 3
	fdtNop        = 4
)

// fdtCompatible reads the root node's "compatible" the way
// devicetree_get_compatible does: only the root's properties are looked
// at (a node with a name, or the end of a node, ends the search), and the
// property must be NUL-terminated. It returns the first string.
func fdtCompatible(b []byte) (string, bool) {
	be := binary.BigEndian
	if len(b) < fdtHeaderSize || be.Uint32(b[0:]) != fdtMagic {
		return "", false
	}
	total := uint64(be.Uint32(b[4:]))
	structOff, stringsOff := uint64(be.Uint32(b[8:])), uint64(be.Uint32(b[12:]))
	stringsSize, structSize := uint64(be.Uint32(b[32:])), uint64(be.Uint32(b[36:]))
	if total > uint64(len(b)) || stringsOff+stringsSize > total ||
		structOff%4 != 0 || structSize%4 != 0 || structOff+structSize > stringsOff {
		return "", false
	}
	strs := b[stringsOff : stringsOff+stringsSize]
	words := b[structOff : structOff+structSize]
	n := uint64(len(words) / 4)
	word := func(i uint64) uint32 { return be.Uint32(words[4*i:]) }
	for i := uint64(0); i < n; i++ {
		switch word(i) {
		case fdtBeginNode:
			if i+1 >= n || word(i+1) != 0 {
				return "", false // a named node: past the root's properties
			}
			i++
		case fdtNop:
		case fdtProp:
			if i+3 >= n {
				return "", false
			}
			size, nameOff := uint64(word(i+1)), uint64(word(i+2))
			sizeWords := (size + 3) / 4
			if nameOff+uint64(len("compatible")) < uint64(len(strs)) && cstring(strs[nameOff:]) == "compatible" {
				val := i + 3
				if size == 0 || val+sizeWords > n || words[4*val+size-1] != 0 {
					return "", false
				}
				return cstring(words[4*val : 4*val+size]), true
			}
			i += 2 + sizeWords
		default:
			return "", false
		}
	}
	return "", false
}

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// A .hwids section (systemd src/boot/chid.h): 28-byte Device entries (a
// descriptor whose top 4 bits are the type, a CHID as an EFI_GUID, then
// two offsets into the section: name and compatible, or name and firmware
// id), ended by a zero descriptor, then the strings.
const (
	hwidsEntrySize = 28
	hwidsTypeDT    = 1
	hwidsTypeFW    = 2
	hwidsNameOff   = 20
	hwidsCompatOff = 24
	hwidsChidOff   = 4
	hwidsTypeShift = 28
	hwidsEOL       = 0
)

type hwidsDevice struct {
	name, compatible string
	chid             smbios.CHID
	chidIndex        int
}

// errHWIDs is what a malformed .hwids wraps; systemd-stub then chooses no
// .dtbauto.
var errHWIDs = errors.New("malformed (systemd-stub chooses no .dtbauto)")

// matchHWIDs finds the devicetree entry of data that the most specific of
// the machine's CHIDs names (chid_match): CHIDs in smbios.MatchOrder,
// entries in table order.
func matchHWIDs(data []byte, chids *[smbios.NumCHIDs]smbios.CHID) (hwidsDevice, error) {
	le := binary.LittleEndian
	var devs [][]byte
	for n := 0; (n+1)*hwidsEntrySize < len(data); n++ {
		d := data[n*hwidsEntrySize : (n+1)*hwidsEntrySize]
		desc := le.Uint32(d)
		if desc == hwidsEOL {
			break
		}
		if typ := desc >> hwidsTypeShift; typ != hwidsTypeDT && typ != hwidsTypeFW {
			return hwidsDevice{}, fmt.Errorf("%w: entry %d has type %d", errHWIDs, n, typ)
		}
		for _, field := range []int{hwidsNameOff, hwidsCompatOff} {
			off := int(le.Uint32(d[field:]))
			if off >= len(data) || (off != 0 && bytes.IndexByte(data[off:], 0) < 0) {
				return hwidsDevice{}, fmt.Errorf("%w: entry %d has a string offset %d outside the section", errHWIDs, n, off)
			}
		}
		devs = append(devs, d)
	}
	if len(devs) == 0 {
		return hwidsDevice{}, errors.New("no entries")
	}
	str := func(off uint32) string {
		if off == 0 {
			return ""
		}
		return cstring(data[off:])
	}
	for _, idx := range smbios.MatchOrder() {
		g := chids[idx].GUIDBytes()
		for _, d := range devs {
			if le.Uint32(d)>>hwidsTypeShift != hwidsTypeDT || !bytes.Equal(d[hwidsChidOff:hwidsChidOff+16], g[:]) {
				continue
			}
			// A CHID systemd cannot compute is zero and matches an
			// all-zero entry, as in chid_match.
			return hwidsDevice{name: str(le.Uint32(d[hwidsNameOff:])), compatible: str(le.Uint32(d[hwidsCompatOff:])),
				chid: chids[idx], chidIndex: idx}, nil
		}
	}
	return hwidsDevice{}, errors.New("none of this machine's CHIDs is listed")
}

// measureDTBAuto measures the .dtbauto section systemd-stub would choose
// into PCR 11 (name, then contents, like the other sections), and says
// what was chosen.
func (b *builder) measureDTBAuto(prof *uki.Profile, full string) error {
	if !HasDTBAuto(prof) {
		return nil
	}
	c := ChooseDTBAuto(prof, b.pol.Hardware)
	switch {
	case c.Section != nil:
		s := c.Section
		if err := b.measureSection(s); err != nil {
			return err
		}
		b.note("%s: .dtbauto section %d chosen as systemd-stub would (%s) and measured into PCR 11; not handed on: %s",
			full, s.Index, c.Why, DTBNotHandedOn())
	case c.Known:
		b.note("%s: no .dtbauto section chosen, as systemd-stub would choose none (%s)", full, c.Why)
	default:
		b.note("%s: cannot tell which .dtbauto section systemd-stub would choose (%s): none is measured, and PCR 11 cannot match ukify's signed predictions for this UKI",
			full, c.Why)
	}
	return nil
}

// DTBNotHandedOn says why a devicetree from a UKI cannot reach the next
// kernel on this architecture.
func DTBNotHandedOn() string {
	if runtime.GOARCH == "arm64" {
		return "kexec_file_load takes no devicetree; the running kernel hands on its own"
	}
	return "kexec_file_load takes no devicetree on " + runtime.GOARCH
}
