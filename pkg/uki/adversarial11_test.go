package uki_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// hostileOSRel is os-release text of about size bytes, one line per key,
// every key different: "k000001=" + value + "\n".
func hostileOSRel(size int, value string) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "k%07d=%s\n", i, value)
	}
	return []byte(b.String())
}

// An unsigned UKI on the ESP is listed before anything is verified, so
// its .osrel and .profile (up to MaxTextSize each) are hostile input to
// -list, the menu and -auto alike. A line "KEY=" takes the rest of the
// text as its value (line_get_key_value's quirk): that must not copy the
// rest of the text once per line, which makes a 64 KiB section allocate
// hundreds of megabytes and a 1 MiB one exhaust memory.
func TestAdversarial11BootOSReleaseEmptyValuesBounded(t *testing.T) {
	data := hostileOSRel(64<<10, "")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o := uki.ParseBootOSRelease(data)
	runtime.ReadMemStats(&after)
	if len(o.Fields) == 0 {
		t.Fatal("no fields")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64*uint64(len(data)) {
		t.Errorf("parsing %d bytes allocated %d bytes", len(data), got)
	}
}

// Many different keys must not make parsing quadratic: a 1 MiB .osrel of
// distinct keys took tens of seconds.
func TestAdversarial11BootOSReleaseManyKeysLinear(t *testing.T) {
	data := hostileOSRel(uki.MaxTextSize, "v")
	start := time.Now()
	o := uki.ParseBootOSRelease(data)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("parsing %d bytes (%d keys) took %v", len(data), len(o.Fields), d)
	}
	if v, ok := o.Lookup("k0000007"); !ok || v != "v" {
		t.Errorf("k0000007 = %q, %v", v, ok)
	}
}
