package ukitest

import (
	"crypto"
	"encoding/binary"
	"sort"
)

// SpecDigest is the Authenticode digest written straight from the steps
// of Microsoft's "Windows Authenticode Portable Executable Signature
// Format" (as EDK2's HashPeImage follows them), over the whole image in
// memory: an oracle written apart from pkg/authenticode's streaming
// Hasher. It trusts the image to be well formed.
func SpecDigest(img []byte, alg crypto.Hash) []byte {
	le := binary.LittleEndian
	coff := int(le.Uint32(img[0x3c:])) + 4
	numSections := int(le.Uint16(img[coff+2:]))
	optSize := int(le.Uint16(img[coff+16:]))
	opt := coff + 20
	checkSum := opt + 64
	sizeOfHeaders := int(le.Uint32(img[opt+60:]))
	numDirs := le.Uint32(img[opt+108:])

	h := alg.New()
	h.Write(img[:checkSum]) // steps 3-4: up to CheckSum
	certSize := 0
	if numDirs > 4 {
		certDir := opt + 112 + 4*8
		h.Write(img[checkSum+4 : certDir])      // steps 5, 7
		h.Write(img[certDir+8 : sizeOfHeaders]) // steps 8-9
		certSize = int(le.Uint32(img[certDir+4:]))
	} else {
		h.Write(img[checkSum+4 : sizeOfHeaders]) // step 6: no certificate directory
	}
	sumOfBytesHashed := sizeOfHeaders // step 10
	type section struct{ ptr, size int }
	var table []section // step 11: sections with raw data
	for i := range numSections {
		sh := opt + optSize + 40*i
		if size := int(le.Uint32(img[sh+16:])); size > 0 {
			table = append(table, section{int(le.Uint32(img[sh+20:])), size})
		}
	}
	sort.SliceStable(table, func(i, j int) bool { return table[i].ptr < table[j].ptr }) // step 12
	for _, s := range table {                                                           // steps 13-15
		h.Write(img[s.ptr : s.ptr+s.size])
		sumOfBytesHashed += s.size
	}
	if len(img) > sumOfBytesHashed { // step 16: the extra data
		if end := len(img) - certSize; end > sumOfBytesHashed {
			h.Write(img[sumOfBytesHashed:end])
		}
	}
	return h.Sum(nil)
}
