package main

import (
	"strings"
	"testing"
)

func TestColdPrepare(t *testing.T) {
	got := coldPrepare("bin/ukiboot")
	drop, read := strings.Index(got, "echo 3 > /proc/sys/vm/drop_caches"), strings.Index(got, "cat bin/ukiboot > /dev/null")
	if drop < 0 || read < drop {
		t.Errorf("coldPrepare = %q: want the page cache dropped, then the binary read back", got)
	}
}
