package kmod

import (
	"bytes"
	"encoding/binary"
)

// FakeModule returns a minimal ELF64 relocatable file with a .modinfo
// section holding the key=value strings: enough for ModInfo, for tests.
// The kernel would not load it.
func FakeModule(modinfo ...string) []byte {
	var info bytes.Buffer
	for _, kv := range modinfo {
		info.WriteString(kv)
		info.WriteByte(0)
	}
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	infoOff := uint64(ehsize)
	strOff := infoOff + uint64(info.Len())
	shOff := (strOff + uint64(len(shstr)) + 7) &^ 7

	var b bytes.Buffer
	le := binary.LittleEndian
	// ELF header.
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1 /* version */, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(1))  // e_type: ET_REL
	binary.Write(&b, le, uint16(62)) // e_machine: x86-64
	binary.Write(&b, le, uint32(1))  // e_version
	binary.Write(&b, le, uint64(0))  // e_entry
	binary.Write(&b, le, uint64(0))  // e_phoff
	binary.Write(&b, le, shOff)      // e_shoff
	binary.Write(&b, le, uint32(0))  // e_flags
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(0)) // e_phentsize
	binary.Write(&b, le, uint16(0)) // e_phnum
	binary.Write(&b, le, uint16(shentsize))
	binary.Write(&b, le, uint16(3)) // e_shnum
	binary.Write(&b, le, uint16(2)) // e_shstrndx
	b.Write(info.Bytes())
	b.Write(shstr)
	for uint64(b.Len()) < shOff {
		b.WriteByte(0)
	}
	section := func(name uint32, typ uint32, off, size uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, typ)
		binary.Write(&b, le, uint64(0)) // flags
		binary.Write(&b, le, uint64(0)) // addr
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint32(0)) // link
		binary.Write(&b, le, uint32(0)) // info
		binary.Write(&b, le, uint64(1)) // addralign
		binary.Write(&b, le, uint64(0)) // entsize
	}
	section(0, 0, 0, 0)
	section(1, 1 /* PROGBITS */, infoOff, uint64(info.Len()))
	section(10, 3 /* STRTAB */, strOff, uint64(len(shstr)))
	return b.Bytes()
}
