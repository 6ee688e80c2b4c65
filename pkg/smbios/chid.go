package smbios

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf16"
)

// CHIDs: Microsoft's "computer hardware IDs" (ComputerHardwareIds.exe;
// fwupd calls them HWIDs), name-based UUIDs (version 5, SHA-1) in the
// namespace 70ffd812-4c7f-4c7d-0000-000000000000 of SMBIOS strings as
// UTF-16LE joined by "&". systemd-stub matches them against a UKI's .hwids
// section to choose a .dtbauto devicetree; this follows systemd's
// src/fundamental/chid-fundamental.c (chid_calculate) and
// src/boot/chid.c (smbios_info_populate, chid_match).

// NumCHIDs is the number of CHID slots systemd computes (CHID_TYPES_MAX):
// Microsoft's 0-14 and systemd's extra ones from 15 on.
const NumCHIDs = 18

// CHID is one computer hardware ID, in RFC 4122 byte order.
type CHID [16]byte

// String formats c as 8-4-4-4-12 lower-case hex digits.
func (c CHID) String() string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", c[0:4], c[4:6], c[6:8], c[8:10], c[10:16])
}

// IsZero reports whether c was not computed (a field it needs is missing).
func (c CHID) IsZero() bool { return c == CHID{} }

// GUIDBytes returns c as an EFI_GUID is stored (its first three fields
// little-endian), as a .hwids section holds it.
func (c CHID) GUIDBytes() [16]byte {
	g := [16]byte(c)
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(c[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(c[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(c[6:]))
	return g
}

// Field is one input of a CHID, numbered as systemd's ChidSmbiosFields.
type Field int

// The fields, in systemd's order (the order they are joined in).
const (
	FieldManufacturer Field = iota
	FieldFamily
	FieldProductName
	FieldProductSKU
	FieldBaseboardManufacturer
	FieldBaseboardProduct
	FieldBIOSVendor
	FieldBIOSVersion
	FieldBIOSMajor
	FieldBIOSMinor
	FieldEnclosureType
	FieldEDIDPanel
	numFields
)

// CHIDFields are the values CHIDs are computed from, already in the form
// that is hashed. A field that is not Set makes every CHID that needs it
// zero, as in systemd.
type CHIDFields struct {
	Value [numFields]string
	Set   [numFields]bool
}

// chidMask returns the fields CHID n is made of (chid_smbios_table); 0
// for a CHID systemd does not define.
func chidMask(n int) uint32 {
	const (
		m   = 1 << FieldManufacturer
		f   = 1 << FieldFamily
		p   = 1 << FieldProductName
		sku = 1 << FieldProductSKU
		bm  = 1 << FieldBaseboardManufacturer
		bp  = 1 << FieldBaseboardProduct
		bv  = 1 << FieldBIOSVendor
		ver = 1 << FieldBIOSVersion
		maj = 1 << FieldBIOSMajor
		mnr = 1 << FieldBIOSMinor
		enc = 1 << FieldEnclosureType
		pan = 1 << FieldEDIDPanel
	)
	masks := [NumCHIDs]uint32{
		0:  m | f | p | sku | bv | ver | maj | mnr,
		1:  m | f | p | bv | ver | maj | mnr,
		2:  m | p | bv | ver | maj | mnr,
		3:  m | f | p | sku | bm | bp,
		4:  m | f | p | sku,
		5:  m | f | p,
		6:  m | sku | bm | bp,
		7:  m | sku,
		8:  m | p | bm | bp,
		9:  m | p,
		10: m | f | bm | bp,
		11: m | f,
		12: m | enc,
		13: m | bm | bp,
		14: m,
		15: m | f | p | pan,
		16: m | f | pan,
		17: m | sku | pan,
	}
	if n < 0 || n >= NumCHIDs {
		return 0
	}
	return masks[n]
}

// MatchOrder returns the CHIDs systemd-stub tries against a .hwids
// section, most specific first (chid_match's priority list).
func MatchOrder() []int { return []int{17, 16, 15, 3, 6, 8, 10, 4, 5, 7, 9, 11} }

// chidNamespace is the namespace of CHIDs, in RFC 4122 byte order.
func chidNamespace() [16]byte {
	return [16]byte{0x70, 0xff, 0xd8, 0x12, 0x4c, 0x7f, 0x4c, 0x7d}
}

// CHIDs computes every CHID; those whose fields are not all Set are zero.
func (fl CHIDFields) CHIDs() [NumCHIDs]CHID {
	var out [NumCHIDs]CHID
	for n := range out {
		out[n] = fl.chid(chidMask(n))
	}
	return out
}

// chid computes the CHID of the fields in mask (get_chid).
func (fl CHIDFields) chid(mask uint32) CHID {
	if mask == 0 {
		return CHID{}
	}
	var parts []string
	for i := Field(0); i < numFields; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		if !fl.Set[i] {
			return CHID{}
		}
		parts = append(parts, fl.Value[i])
	}
	ns := chidNamespace()
	h := sha1.New()
	h.Write(ns[:])
	h.Write(utf16le(strings.Join(parts, "&")))
	var c CHID
	copy(c[:], h.Sum(nil))
	c[6] = c[6]&0x0f | 0x50 // version 5
	c[8] = c[8]&0x3f | 0x80 // RFC 4122 variant
	return c
}

// utf16le encodes s as UTF-16LE without a terminator.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// HashableString is an SMBIOS string as systemd (and fwupd) hash it
// (smbios_to_hashable_string): leading spaces, then leading zeros, then
// trailing spaces removed.
func HashableString(s string) string {
	s = strings.TrimLeft(s, " ")
	s = strings.TrimLeft(s, "0")
	return strings.TrimRight(s, " ")
}

// Formatted-area offsets of the fields CHIDs use, and the shortest
// structure systemd reads each from (get_smbios_table's min_size: the
// size of its SmbiosTableType* struct).
const (
	type0MinLen       = 0x14 // through the BIOS characteristics extension bytes
	type0ReleaseLen   = 0x16 // SMBIOS 2.4+: system BIOS major and minor release
	type0Vendor       = 0x04
	type0Version      = 0x05
	type0Major        = 0x14
	type0Minor        = 0x15
	type1MinLen       = 0x1b // SMBIOS 2.4+: through Family
	type1Manufacturer = 0x04
	type1ProductName  = 0x05
	type1SKU          = 0x19
	type1Family       = 0x1a
	type2MinLen       = 0x08
	type2Manufacturer = 0x04
	type2Product      = 0x05
)

// FieldsFrom takes the CHID fields from the first structure of types 0
// (BIOS), 1 (system) and 2 (baseboard), as systemd-stub does: a missing
// or too short structure, or a string it does not have, gives an empty
// string (which is hashed); the BIOS release bytes are "%02x" and only Set
// when type 0 has them (and they are not 0xff, "not supported"). The
// enclosure type (CHID 12) and the EDID panel (CHIDs 15-17) are not Set:
// systemd does not fill the first, and a kexec boot has no UEFI EDID
// protocol for the second.
func FieldsFrom(bios, system, baseboard []Structure) CHIDFields {
	var fl CHIDFields
	set := func(f Field, v string) { fl.Value[f], fl.Set[f] = HashableString(v), true }
	for _, f := range []Field{FieldManufacturer, FieldFamily, FieldProductName, FieldProductSKU,
		FieldBaseboardManufacturer, FieldBaseboardProduct, FieldBIOSVendor, FieldBIOSVersion} {
		set(f, "")
	}
	if s, ok := first(system, type1MinLen); ok {
		set(FieldManufacturer, s.StringAt(type1Manufacturer))
		set(FieldProductName, s.StringAt(type1ProductName))
		set(FieldProductSKU, s.StringAt(type1SKU))
		set(FieldFamily, s.StringAt(type1Family))
	}
	if s, ok := first(baseboard, type2MinLen); ok {
		set(FieldBaseboardManufacturer, s.StringAt(type2Manufacturer))
		set(FieldBaseboardProduct, s.StringAt(type2Product))
	}
	if s, ok := first(bios, type0MinLen); ok {
		set(FieldBIOSVendor, s.StringAt(type0Vendor))
		set(FieldBIOSVersion, s.StringAt(type0Version))
		maj, _ := s.Byte(type0Major)
		mnr, _ := s.Byte(type0Minor)
		if len(s.Formatted) >= type0ReleaseLen && (maj != 0xff || mnr != 0xff) {
			// Not through HashableString: "05" must keep its zero.
			fl.Value[FieldBIOSMajor], fl.Set[FieldBIOSMajor] = fmt.Sprintf("%02x", maj), true
			fl.Value[FieldBIOSMinor], fl.Set[FieldBIOSMinor] = fmt.Sprintf("%02x", mnr), true
		}
	}
	return fl
}

// first returns the first structure, if it is at least minLen long.
func first(ss []Structure, minLen int) (Structure, bool) {
	if len(ss) == 0 || len(ss[0].Formatted) < minLen {
		return Structure{}, false
	}
	return ss[0], true
}

// ReadCHIDFields reads the structures of types 0, 1 and 2 from fsys
// (rooted at "/") and returns their CHID fields.
func ReadCHIDFields(fsys fs.FS) (CHIDFields, error) {
	var byType [3][]Structure
	for typ := range byType {
		ss, err := ReadStructures(fsys, uint8(typ))
		if err != nil {
			return CHIDFields{}, err
		}
		byType[typ] = ss
	}
	return FieldsFrom(byType[0], byType[1], byType[2]), nil
}
