package integration

import (
	"reflect"
	"strings"
	"testing"
)

// Tests of the TPM helpers; they need no VM.

func TestPCRLines(t *testing.T) {
	for _, c := range []struct {
		name, prefix, console string
		want                  PCRValues
		err                   string
	}{
		{
			name:    "testinit lines among kernel messages, upper case and CR",
			prefix:  "testinit: pcr ",
			console: "[ 1.0] noise\ntestinit: pcr sha1 7 00FF\r\ntestinit: TPM: tpm0\n[ 2.0] x testinit: pcr sha256 0 01\n",
			want:    PCRValues{"sha1": {7: {0, 0xff}}, "sha256": {0: {1}}},
		},
		{
			name:    "end-to-end initrd lines",
			prefix:  "E2E-PCR: ",
			console: "E2E-CMDLINE: x\nE2E-PCR: sha384 13 0a\nE2E-UNLOCKED: x\n",
			want:    PCRValues{"sha384": {13: {0x0a}}},
		},
		{name: "no lines", prefix: "E2E-PCR: ", console: "REPORT-BEGIN\nREPORT-END\n", err: "no \"E2E-PCR: \" lines"},
		{name: "no value", prefix: "testinit: pcr ", console: "testinit: pcr sha1 7\n", err: "want"},
		{name: "index out of range", prefix: "E2E-PCR: ", console: "E2E-PCR: sha256 24 00\n", err: "bad PCR index"},
		{name: "a PCR twice", prefix: "testinit: pcr ", console: "testinit: pcr sha1 7 00\ntestinit: pcr sha1 7 00\n", err: "printed twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := PCRLines(c.console, c.prefix)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("PCRLines = %x, %v; want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("PCRLines = %x, want %x", got, c.want)
			}
		})
	}
}

func TestComparePCRs(t *testing.T) {
	want := PCRValues{"sha1": {11: {0xaa}, 12: {0xbb}}, "sha256": {11: {0xcc}, 12: {0xdd}}}
	for _, c := range []struct {
		name string
		got  PCRValues
		diff []string
	}{
		{name: "equal", got: PCRValues{"sha1": {11: {0xaa}, 12: {0xbb}}, "sha256": {11: {0xcc}, 12: {0xdd}, 7: {0xee}}}},
		{name: "one differs", got: PCRValues{"sha1": {11: {0xaa}, 12: {0}}, "sha256": {11: {0xcc}, 12: {0xdd}}},
			diff: []string{"PCR 12 sha1: 00, want bb"}},
		{name: "bank missing", got: PCRValues{"sha256": {11: {0xcc}, 12: {0xdd}}},
			diff: []string{"bank sha1 missing"}},
		{name: "PCR missing", got: PCRValues{"sha1": {11: {0xaa}, 12: {0xbb}}, "sha256": {11: {0xcc}}},
			diff: []string{"PCR 12 sha256: , want dd"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := ComparePCRs(c.got, want, 11, 12); !reflect.DeepEqual(d, c.diff) {
				t.Errorf("got %q, want %q", d, c.diff)
			}
		})
	}
}
