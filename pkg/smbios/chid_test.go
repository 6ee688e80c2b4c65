package smbios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// fields sets every field named in v (the others stay unset).
func fields(v map[Field]string) CHIDFields {
	var fl CHIDFields
	for f, s := range v {
		fl.Value[f], fl.Set[f] = s, true
	}
	return fl
}

// t440s is the Lenovo ThinkPad T440s of fwupd's docs/hwids.md, whose CHIDs
// match ComputerHardwareIds.exe on that machine.
var t440s = map[Field]string{
	FieldManufacturer: "LENOVO", FieldFamily: "ThinkPad T440s", FieldProductName: "20ARS19C0C",
	FieldProductSKU: "LENOVO_MT_20AR_BU_Think_FM_ThinkPad T440s", FieldBaseboardManufacturer: "LENOVO",
	FieldBaseboardProduct: "20ARS19C0C", FieldBIOSVendor: "LENOVO", FieldBIOSVersion: "GJET75WW (2.25 )",
}

// TestCHIDsPublishedVector: chid_calculate (systemd
// src/fundamental/chid-fundamental.c) on fwupd's published example. The
// BIOS release bytes are not published, so CHIDs 0-2 are not computed;
// nor is 12 (the enclosure type, which systemd does not fill in).
func TestCHIDsPublishedVector(t *testing.T) {
	want := map[int]string{
		3:  "3faec92a-3ae3-5744-be88-495e90a7d541",
		4:  "660ccba8-1b78-5a33-80e6-9fb8354ee873",
		5:  "8dc9b7c5-f5d5-5850-9ab3-bd6f0549d814",
		6:  "178cd22d-ad9f-562d-ae0a-34009822cdbe",
		7:  "da1da9b6-62f5-5f22-8aaa-14db7eeda2a4",
		8:  "059eb22d-6dc7-59af-abd3-94bbe017f67c",
		9:  "0cf8618d-9eff-537c-9f35-46861406eb9c",
		10: "f4275c1f-6130-5191-845c-3426247eb6a1",
		11: "db73af4c-4612-50f7-b8a7-787cf4871847",
		13: "f8e1de5f-b68c-5f52-9d1a-f1ba52f1f773",
		14: "6de5d951-d755-576b-bd09-c5cf66b27234",
	}
	got := fields(t440s).CHIDs()
	for n, c := range got {
		t.Run(fmt.Sprintf("CHID %d", n), func(t *testing.T) {
			w, ok := want[n]
			switch {
			case ok && c.String() != w:
				t.Errorf("%s, want %s", c, w)
			case !ok && !c.IsZero():
				t.Errorf("%s, want none (a field is missing)", c)
			}
		})
	}
}

// TestCHIDsAgainstPython computes the CHIDs of several machines with
// python3's hashlib and uuid (SHA-1 over the namespace and the UTF-16LE
// name, version 5) and compares.
func TestCHIDsAgainstPython(t *testing.T) {
	py := ukitest.Need(t, "python3")
	withRelease := func(m map[Field]string, maj, mnr string) map[Field]string {
		c := map[Field]string{FieldBIOSMajor: maj, FieldBIOSMinor: mnr}
		for k, v := range m {
			c[k] = v
		}
		return c
	}
	machines := []map[Field]string{
		withRelease(t440s, "02", "19"),
		withRelease(map[Field]string{
			FieldManufacturer: "QEMU", FieldFamily: "", FieldProductName: "Standard PC (Q35 + ICH9, 2009)",
			FieldProductSKU: "", FieldBaseboardManufacturer: "", FieldBaseboardProduct: "",
			FieldBIOSVendor: "EDK II", FieldBIOSVersion: "edk2-stable202408", FieldEnclosureType: "1",
		}, "00", "00"),
		{FieldManufacturer: "Ünïcødé GmbH", FieldFamily: "Laptop X", FieldProductName: "Device 1", FieldProductSKU: "KD01",
			FieldBaseboardManufacturer: "First ODM", FieldBaseboardProduct: "FODM1", FieldBIOSVendor: "", FieldBIOSVersion: ""},
	}
	type pyMachine struct {
		Fields []string `json:"fields"` // "" where unset
		Set    []bool   `json:"set"`
	}
	var in []pyMachine
	for _, m := range machines {
		fl := fields(m)
		in = append(in, pyMachine{Fields: fl.Value[:], Set: fl.Set[:]})
	}
	masks := make([]uint32, NumCHIDs)
	for n := range masks {
		masks[n] = chidMask(n)
	}
	req, err := json.Marshal(map[string]any{"machines": in, "masks": masks})
	if err != nil {
		t.Fatal(err)
	}
	const script = `
import hashlib, json, sys, uuid
req = json.load(sys.stdin)
ns = uuid.UUID("70ffd812-4c7f-4c7d-0000-000000000000")
out = []
for m in req["machines"]:
    ids = []
    for mask in req["masks"]:
        idx = [i for i in range(len(m["fields"])) if mask & (1 << i)]
        if not idx or not all(m["set"][i] for i in idx):
            ids.append("")
            continue
        name = "&".join(m["fields"][i] for i in idx).encode("utf-16-le")
        ids.append(str(uuid.UUID(bytes=hashlib.sha1(ns.bytes + name).digest()[:16], version=5)))
    out.append(ids)
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(req)
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][]string
	if err := json.Unmarshal(res, &want); err != nil {
		t.Fatalf("python3 output %q: %v", res, err)
	}
	for i, m := range machines {
		got := fields(m).CHIDs()
		for n, c := range got {
			w := want[i][n]
			if (w == "" && !c.IsZero()) || (w != "" && c.String() != w) {
				t.Errorf("machine %d (%s) CHID %d: %s, python3 says %q", i, m[FieldManufacturer], n, c, w)
			}
		}
	}
}

// TestHashableString: smbios_to_hashable_string (systemd src/boot/chid.c).
func TestHashableString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"LENOVO", "LENOVO"},
		{"  LENOVO  ", "LENOVO"},
		{"0001.2", "1.2"},
		{" 00 abc ", " abc"}, // zeros are stripped after the spaces only
		{"GJET75WW (2.25 )", "GJET75WW (2.25 )"},
		{"000", ""},
		{"", ""},
	} {
		if got := HashableString(c.in); got != c.want {
			t.Errorf("HashableString(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestReadCHIDFields: the fields come from the first structure of types 0,
// 1 and 2, as smbios_raw_info_populate and smbios_info_populate take them.
func TestReadCHIDFields(t *testing.T) {
	type1 := func(n int) []byte { // formatted area after the header, n bytes
		f := make([]byte, n)
		f[0], f[1] = 1, 2 // manufacturer, product name
		if n > 0x19-4 {
			f[0x19-4] = 3 // SKU
		}
		if n > 0x1a-4 {
			f[0x1a-4] = 4 // family
		}
		return f
	}
	type0 := func(n int, maj, mnr byte) []byte {
		f := make([]byte, n)
		f[0], f[1] = 1, 2
		if n > 0x15-4 {
			f[0x14-4], f[0x15-4] = maj, mnr
		}
		return f
	}
	for _, c := range []struct {
		name  string
		files map[string][]byte
		want  map[Field]string
		unset []Field
	}{
		{"full tables", map[string][]byte{
			"0-0": raw(0, 0, type0(0x18-4, 2, 0x19), " LENOVO", "GJET75WW (2.25 )"),
			"1-0": raw(1, 1, type1(0x1b-4), "LENOVO ", "20ARS19C0C", "0000LENOVO_MT", "ThinkPad T440s"),
			"1-1": raw(1, 2, type1(0x1b-4), "second", "ignored", "x", "y"),
			"2-0": raw(2, 3, []byte{1, 2, 0, 0}, "LENOVO", "20ARS19C0C"),
		}, map[Field]string{
			FieldManufacturer: "LENOVO", FieldProductName: "20ARS19C0C", FieldProductSKU: "LENOVO_MT", FieldFamily: "ThinkPad T440s",
			FieldBaseboardManufacturer: "LENOVO", FieldBaseboardProduct: "20ARS19C0C",
			FieldBIOSVendor: "LENOVO", FieldBIOSVersion: "GJET75WW (2.25 )", FieldBIOSMajor: "02", FieldBIOSMinor: "19",
		}, []Field{FieldEnclosureType, FieldEDIDPanel}},
		{"SMBIOS 2.0 type 1 is too short: ignored whole", map[string][]byte{
			"1-0": raw(1, 1, type1(4), "Old Corp", "Old Box"),
		}, map[Field]string{FieldManufacturer: "", FieldProductName: "", FieldBIOSVendor: ""},
			[]Field{FieldBIOSMajor, FieldBIOSMinor}},
		{"string numbers past the set read as empty", map[string][]byte{
			"1-0": raw(1, 1, type1(0x1b-4), "Only One"),
		}, map[Field]string{FieldManufacturer: "Only One", FieldProductName: "", FieldFamily: ""}, nil},
		{"BIOS release 0xff.0xff is not supported", map[string][]byte{
			"0-0": raw(0, 0, type0(0x18-4, 0xff, 0xff), "V", "1"),
		}, map[Field]string{FieldBIOSVendor: "V", FieldBIOSVersion: "1"}, []Field{FieldBIOSMajor, FieldBIOSMinor}},
		{"BIOS release before SMBIOS 2.4", map[string][]byte{
			"0-0": raw(0, 0, type0(0x14-4, 0, 0), "V", "1"),
		}, map[Field]string{FieldBIOSVendor: "V"}, []Field{FieldBIOSMajor}},
		{"BIOS release keeps its zeros", map[string][]byte{
			"0-0": raw(0, 0, type0(0x18-4, 5, 0), "V", "1"),
		}, map[Field]string{FieldBIOSMajor: "05", FieldBIOSMinor: "00"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fl, err := ReadCHIDFields(entries(c.files))
			if err != nil {
				t.Fatal(err)
			}
			for f, w := range c.want {
				if !fl.Set[f] || fl.Value[f] != w {
					t.Errorf("field %d = %q (set %v), want %q", f, fl.Value[f], fl.Set[f], w)
				}
			}
			for _, f := range c.unset {
				if fl.Set[f] {
					t.Errorf("field %d set to %q, want unset", f, fl.Value[f])
				}
			}
		})
	}
	t.Run("no dmi-sysfs", func(t *testing.T) {
		if _, err := ReadCHIDFields(entries(nil)); err == nil || !strings.Contains(err.Error(), "dmi-sysfs") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestGUIDBytes: a .hwids section stores CHIDs as EFI_GUIDs (ukify writes
// uuid.bytes_le).
func TestGUIDBytes(t *testing.T) {
	c := fields(t440s).CHIDs()[14] // 6de5d951-d755-576b-bd09-c5cf66b27234
	want := []byte{0x51, 0xd9, 0xe5, 0x6d, 0x55, 0xd7, 0x6b, 0x57, 0xbd, 0x09, 0xc5, 0xcf, 0x66, 0xb2, 0x72, 0x34}
	if g := c.GUIDBytes(); !bytes.Equal(g[:], want) {
		t.Errorf("GUIDBytes = %x, want %x", g, want)
	}
}
