package measure

import (
	"slices"
	"testing"
)

// FuzzResponses checks that no response, however it comes in parts (the
// first read's size, then the others'),
// makes the TPM commands' readers panic or hang, and that what they
// accept is well-formed: sorted banks, a value of the bank's size.
func FuzzResponses(f *testing.F) {
	f.Add(h(f, capPCRsResponse), uint8(0), uint8(11))
	f.Add(h(f, pcrReadResponse), uint8(3), uint8(11))
	f.Add(rsp(f, stSessions, 0, "00000000 0000 01 0000"), uint8(1), uint8(7))
	f.Add(rsp(f, stNoSessions, 0x184, ""), uint8(0), uint8(0))
	f.Add(rsp(f, stNoSessions, 0, "00000017 00000001 0004 03 010000 00000001 0014 0000000000000000000000000000000000000000"), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk, pcr uint8) {
		algs := Banks{SHA1, SHA256, SHA384, SHA512, SM3256}
		a := algs[int(pcr)%len(algs)]
		d := &device{rw: &scripted{rsps: [][]byte{data, data, data}, chunks: []int{int(chunk) % 16, int(chunk) / 16}}, name: "fuzz"}
		if b, err := d.Banks(); err == nil && !slices.IsSorted(b) {
			t.Errorf("Banks() = %v, not sorted", b)
		}
		if v, err := d.Read(int(pcr), a); err == nil && len(v) != a.Size() {
			t.Errorf("Read(%d, %s) = %d bytes", pcr, a, len(v))
		}
		d.Extend(int(pcr), Sum(Banks{SHA256}, data))
		// The parameter readers on their own, past any header.
		parseBanks(data)
		if v, err := parsePCRRead(data, int(pcr), a); err == nil && len(v) != a.Size() {
			t.Errorf("parsePCRRead(%d, %s) = %d bytes", pcr, a, len(v))
		}
		parseExtend(data)
	})
}
