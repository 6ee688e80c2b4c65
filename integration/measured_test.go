package integration

import (
	"reflect"
	"strings"
	"testing"
)

// Tests of the measured-boot helpers; they need no VM.

func TestParsePCRs(t *testing.T) {
	for _, c := range []struct {
		name    string
		console string
		want    PCRValues
		err     string
	}{
		{
			name:    "pcrs init lines among kernel messages, upper case and CR",
			console: "[ 1.0] tpm\nPCRS-BEGIN\r\nPCRS: sha256 11 AB01\r\nPCRS: sha1 7 00ff\nPCRS-END\n",
			want:    PCRValues{"sha256": {11: "ab01"}, "sha1": {7: "00ff"}},
		},
		{
			name:    "end-to-end hook lines",
			console: "E2E-PCR: sha384 13 0a\nE2E-UNLOCKED: x\n",
			want:    PCRValues{"sha384": {13: "0a"}},
		},
		{
			name:    "the first value of a PCR wins",
			console: "PCRS: sha256 12 01\nPCRS: sha256 12 02\n",
			want:    PCRValues{"sha256": {12: "01"}},
		},
		{name: "no lines", console: "REPORT-BEGIN\nREPORT-END\n", err: "no PCR lines"},
		{name: "index out of range", console: "PCRS: sha256 24 00\n", err: "bad index"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParsePCRs(c.console)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestComparePCRs(t *testing.T) {
	want := PCRValues{"sha1": {11: "aa", 12: "bb"}, "sha256": {11: "cc", 12: "dd"}}
	for _, c := range []struct {
		name string
		got  PCRValues
		diff []string
	}{
		{name: "equal", got: PCRValues{"sha1": {11: "aa", 12: "bb"}, "sha256": {11: "cc", 12: "dd", 7: "ee"}}},
		{name: "one differs", got: PCRValues{"sha1": {11: "aa", 12: "00"}, "sha256": {11: "cc", 12: "dd"}},
			diff: []string{"PCR 12 sha1: 00, want bb"}},
		{name: "bank missing", got: PCRValues{"sha256": {11: "cc", 12: "dd"}},
			diff: []string{"bank sha1 missing"}},
		{name: "PCR missing", got: PCRValues{"sha1": {11: "aa", 12: "bb"}, "sha256": {11: "cc"}},
			diff: []string{"PCR 12 sha256: , want dd"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := ComparePCRs(c.got, want, 11, 12); !reflect.DeepEqual(d, c.diff) {
				t.Errorf("got %q, want %q", d, c.diff)
			}
		})
	}
}
