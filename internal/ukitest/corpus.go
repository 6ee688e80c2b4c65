package ukitest

import (
	"bytes"
	"encoding/binary"
)

// SignatureList builds one EFI_SIGNATURE_LIST of type typ (EFI byte
// order) holding entries, all of the same size, each with a zero owner
// GUID.
func SignatureList(typ [16]byte, entries ...[]byte) []byte {
	size := 0
	if len(entries) > 0 {
		size = 16 + len(entries[0])
	}
	b := append([]byte(nil), typ[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(28+size*len(entries)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	for _, e := range entries {
		if len(e) != len(entries[0]) {
			panic("SignatureList: entries of different sizes")
		}
		b = append(b, make([]byte, 16)...)
		b = append(b, e...)
	}
	return b
}

// AttachWinCerts is AttachSignatures for ready-made WIN_CERTIFICATE
// entries (see WinCert) of any type, appended as they are.
func AttachWinCerts(img []byte, entries ...[]byte) []byte {
	out := append([]byte(nil), img...)
	peOff := binary.LittleEndian.Uint32(out[0x3c:])
	certDir := int(peOff) + 4 + 20 + 112 + 4*8
	start := len(out)
	out = append(out, bytes.Join(entries, nil)...)
	binary.LittleEndian.PutUint32(out[certDir:], uint32(start))
	binary.LittleEndian.PutUint32(out[certDir+4:], uint32(len(out)-start))
	return out
}
