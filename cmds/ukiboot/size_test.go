package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64 // 0: refused
	}{
		{"1073741824", 1 << 30},
		{"512M", 512 << 20},
		{"1G", 1 << 30},
		{"2g", 2 << 30},
		{"2GiB", 2 << 30},
		{"64KB", 64 << 10},
		{"100B", 100},
		{"1T", 1 << 40},
		{"", 0},
		{"0", 0},
		{"-5M", 0},
		{"1.5G", 0},
		{"12X", 0},
		{"G", 0},
		{"8388608T", 0},                         // 2^63: overflows
		{"99999999999999999999", 0},             // beyond int64
		{strconv.FormatInt(1<<62, 10), 1 << 62}, // large but fine
	} {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			got, err := parseSize(c.in)
			if c.want == 0 {
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.in)) {
					t.Errorf("got %d, %v; want an error naming %q", got, err, c.in)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %d, %v; want %d", got, err, c.want)
			}
		})
	}
	var o options
	if f := maxSizeFlag(&o.maxSize); o.maxSize != stub.DefaultMaxSize || f.String() != "1G" {
		t.Errorf("default %d shown as %q", o.maxSize, f.String())
	}
}

// bytesRead is how many bytes this process has read so far (rchar in
// /proc/self/io: every read and pread, whatever the file), or -1.
func bytesRead() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestMaxSizeRefusesBeforeReading runs -inspect, -list and -dry-run on a
// 2 GiB sparse UKI: each refuses it, says how to raise the limit, and the
// whole process reads less than 1 MiB meanwhile.
func TestMaxSizeRefusesBeforeReading(t *testing.T) {
	const size = int64(2) << 30
	esp := t.TempDir()
	big := filepath.Join(esp, "EFI/Linux/big.efi")
	ukitest.WriteTree(t, esp, "EFI/Linux/big.efi", ukitest.UKI(ukitest.S(".osrel", "ID=big\n"), ukitest.S(".linux", "KERNEL")))
	if err := os.Truncate(big, size); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(t.TempDir(), "small.efi")
	if err := os.WriteFile(small, ukitest.PadTo8(ukitest.UKI(ukitest.B(".linux", bytes.Repeat([]byte("K"), 3000)))), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(small)
	if err != nil {
		t.Fatal(err)
	}
	smallSize := fmt.Sprint(st.Size())
	limit := fmt.Sprint(stub.DefaultMaxSize)
	cases := []struct {
		name string
		args []string
		rc   int
		out  string   // stdout or stderr holding the reason
		want []string // in it
	}{
		{"-inspect", []string{"-inspect", big}, 1, "stderr", []string{big, fmt.Sprint(size), limit, "-max-size"}},
		{"-list", []string{"-list", "-json", "-root", esp}, 0, "stdout", []string{big, fmt.Sprint(size), limit, "-max-size", `"status": "invalid"`}},
		{"-dry-run", []string{"-auto", "-dry-run", "-root", esp}, 1, "stderr", []string{"cannot boot big.efi", big, fmt.Sprint(size), limit, "-max-size"}},
		{"-max-size 2K", []string{"-max-size", "2K", "-inspect", small}, 1, "stderr", []string{small, smallSize, "2048", "-max-size"}},
		{"-max-size 2M", []string{"-max-size", "2M", "-inspect", small}, 0, "stdout", []string{"kind:       uki"}},
		{"-max-size bogus", []string{"-max-size", "lots", "-inspect", small}, 2, "stderr", []string{`"lots"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			var stdout, stderr bytes.Buffer
			before := bytesRead()
			rc := runWith(c.args, &stdout, &stderr, f.sys())
			if after := bytesRead(); before < 0 || after < 0 {
				t.Log("/proc/self/io unavailable: bytes read not counted")
			} else if after-before > 1<<20 {
				t.Errorf("%d bytes read", after-before)
			}
			out := map[string]string{"stdout": stdout.String(), "stderr": stderr.String()}[c.out]
			if rc != c.rc {
				t.Errorf("rc %d, want %d\nstdout %s\nstderr %s", rc, c.rc, stdout.String(), stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %q:\n%s", c.out, w, out)
				}
			}
			if len(f.loads) != 0 {
				t.Errorf("loaded %d kernels", len(f.loads))
			}
		})
	}
}
