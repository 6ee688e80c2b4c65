package stub

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/smbios"
)

// TestFDTCompatible: devicetree_get_compatible's reading of a blob (systemd
// src/boot/devicetree.c): the root's first "compatible" string, or nothing
// for a blob it refuses.
func TestFDTCompatible(t *testing.T) {
	good := ukitest.FDT(ukitest.FDTProp{Name: "model", Value: ukitest.StringList("M")},
		ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("a,b", "a,soc")})
	be := binary.BigEndian
	patch := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	structOff := be.Uint32(good[8:])
	for _, c := range []struct {
		name string
		blob []byte
		want string
		ok   bool
	}{
		{"root compatible", good, "a,b", true},
		{"NOP before the properties", func() []byte {
			// Replace the root's "model" property (4 words) by NOPs.
			return patch(func(b []byte) {
				for i := uint32(2); i < 2+4; i++ {
					be.PutUint32(b[structOff+4*i:], 4)
				}
			})
		}(), "a,b", true},
		{"only in a child node", ukitest.FDT(ukitest.FDTProp{Name: "model", Value: ukitest.StringList("M")}), "", false},
		{"not NUL-terminated", ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: []byte("a,b")}), "", false},
		{"empty", ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: nil}), "", false},
		{"bad magic", patch(func(b []byte) { b[0] = 0 }), "", false},
		{"total size past the blob", patch(func(b []byte) { be.PutUint32(b[4:], uint32(len(b)+1)) }), "", false},
		{"strings before the structure block", patch(func(b []byte) { be.PutUint32(b[12:], structOff) }), "", false},
		{"structure size not whole words", patch(func(b []byte) { be.PutUint32(b[36:], be.Uint32(b[36:])-2) }), "", false},
		{"truncated header", good[:39], "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := fdtCompatible(c.blob)
			if got != c.want || ok != c.ok {
				t.Errorf("fdtCompatible = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// FuzzDTBAutoParsers: the devicetree and .hwids readers take whatever a
// UKI holds without panicking or reading outside it.
func FuzzDTBAutoParsers(f *testing.F) {
	f.Add(ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("a,b")}))
	f.Add(ukitest.HWIDs(ukitest.HWID{Type: 1, Name: "n", Compatible: "a,b"}))
	f.Add([]byte{})
	var chids [smbios.NumCHIDs]smbios.CHID
	f.Fuzz(func(t *testing.T, data []byte) {
		fdtCompatible(data)
		matchHWIDs(data, &chids)
	})
}
