package main

import (
	"reflect"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	got := parseCmdline(`console=ttyS0 quiet testinit.waitdisk=2 uroot.uinitargs="-root /esp -v" last` + "\n")
	want := map[string]string{
		"console":           "ttyS0",
		"quiet":             "",
		"testinit.waitdisk": "2",
		"uroot.uinitargs":   "-root /esp -v",
		"last":              "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseCmdline = %q, want %q", got, want)
	}
}
