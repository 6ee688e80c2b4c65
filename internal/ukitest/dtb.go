package ukitest

import (
	"encoding/binary"
	"strings"
)

// FDTProp is one property of a devicetree node.
type FDTProp struct {
	Name  string
	Value []byte
}

// StringList encodes a devicetree string list ("a\0b\0").
func StringList(s ...string) []byte { return []byte(strings.Join(s, "\x00") + "\x00") }

// FDT builds a flattened devicetree (devicetree specification, chapter 5)
// whose root node has the given properties and one child node "chosen":
// header, memory reservation map (empty), structure block, strings block.
func FDT(root ...FDTProp) []byte {
	be := binary.BigEndian
	var strs []byte
	nameOff := map[string]uint32{}
	var st []byte
	word := func(v uint32) { st = be.AppendUint32(st, v) }
	pad := func() {
		for len(st)%4 != 0 {
			st = append(st, 0)
		}
	}
	prop := func(p FDTProp) {
		off, ok := nameOff[p.Name]
		if !ok {
			off = uint32(len(strs))
			nameOff[p.Name] = off
			strs = append(strs, p.Name+"\x00"...)
		}
		word(3)
		word(uint32(len(p.Value)))
		word(off)
		st = append(st, p.Value...)
		pad()
	}
	word(1) // FDT_BEGIN_NODE, root: empty name
	word(0)
	for _, p := range root {
		prop(p)
	}
	word(1)
	st = append(st, "chosen\x00"...)
	pad()
	prop(FDTProp{"bootargs", StringList("")})
	word(2) // FDT_END_NODE
	word(2)
	word(9) // FDT_END

	const header = 40
	rsvmap := make([]byte, 16) // one terminating entry
	offRsv := uint32(header)
	offStruct := offRsv + uint32(len(rsvmap))
	offStrings := offStruct + uint32(len(st))
	total := offStrings + uint32(len(strs))
	out := make([]byte, header, total)
	for i, v := range []uint32{0xd00dfeed, total, offStruct, offStrings, offRsv, 17, 16, 0, uint32(len(strs)), uint32(len(st))} {
		be.PutUint32(out[4*i:], v)
	}
	out = append(out, rsvmap...)
	out = append(out, st...)
	return append(out, strs...)
}

// HWID is one entry of a .hwids section.
type HWID struct {
	Type       uint32   // 1 devicetree, 2 UEFI firmware
	CHID       [16]byte // as an EFI_GUID is stored (uuid.bytes_le)
	Name       string   // "" for none (offset 0)
	Compatible string   // or firmware id; "" for none
}

// HWIDs builds a .hwids section as ukify does: 28-byte entries (descriptor
// = type<<28 | 28, CHID, name offset, compatible offset), a zero entry,
// then the NUL-terminated strings the offsets point to.
func HWIDs(entries ...HWID) []byte {
	le := binary.LittleEndian
	const size = 28
	strOff := uint32(size * (len(entries) + 1))
	var table, strs []byte
	str := func(s string) uint32 {
		if s == "" {
			return 0
		}
		off := strOff + uint32(len(strs))
		strs = append(strs, s+"\x00"...)
		return off
	}
	for _, e := range entries {
		table = le.AppendUint32(table, e.Type<<28|size)
		table = append(table, e.CHID[:]...)
		table = le.AppendUint32(table, str(e.Name))
		table = le.AppendUint32(table, str(e.Compatible))
	}
	table = append(table, make([]byte, size)...)
	return append(table, strs...)
}
