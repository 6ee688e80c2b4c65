package bls

import (
	"strings"
	"testing"
)

// FuzzParseType1 checks the entry parser never panics, keeps every path it
// accepts normalized, and gives a reason for every invalid entry.
func FuzzParseType1(f *testing.F) {
	f.Add([]byte("title Fedora\nversion 40\nlinux /vmlinuz\ninitrd /a\ninitrd b\noptions quiet\n"))
	f.Add([]byte("linux /../x\r\nefi\t/EFI/a.efi\ndevicetree-overlay a b  c\n#x\n\x00junk"))
	f.Add([]byte("profile 99999999999999999999\nuki x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := &Entry{Status: StatusOK, Path: "/loader/entries/f.conf"}
		parseType1(e, data)
		if e.Status == StatusInvalid && e.Err == nil {
			t.Fatal("invalid without a reason")
		}
		for _, p := range append(append([]string{e.Linux, e.EFI, e.UKIKey, e.Devicetree}, e.Initrd...), e.DevicetreeOverlay...) {
			if p == "" {
				continue
			}
			if !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") || strings.Contains(p, "//") {
				t.Fatalf("accepted path %q", p)
			}
		}
	})
}

// FuzzParseLoaderConf checks loader.conf parsing never panics and keeps
// only valid values.
func FuzzParseLoaderConf(f *testing.F) {
	f.Add([]byte("default fedora*\ntimeout 5\neditor no\n"))
	f.Add([]byte("timeout menu-hidden\r\ndefault @saved\x00"))
	f.Add([]byte("timeout 99999999999\ndefault @x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := ParseLoaderConf("loader.conf", data)
		if c.Timeout.Kind == TimeoutSeconds && c.Timeout.Seconds < 0 {
			t.Fatalf("negative timeout %d", c.Timeout.Seconds)
		}
		if strings.HasPrefix(c.Default, "@") && !strings.EqualFold(c.Default, "@saved") {
			t.Fatalf("kept default %q", c.Default)
		}
		_ = MatchID(c.Default, "fedora-40.conf") // must not panic on any pattern
	})
}

// FuzzCompareVersions checks antisymmetry on arbitrary strings.
func FuzzCompareVersions(f *testing.F) {
	f.Add("1.2~rc1", "1.2")
	f.Add("a^b-c.d", "a^b-c")
	f.Fuzz(func(t *testing.T, a, b string) {
		if CompareVersions(a, b) != -CompareVersions(b, a) {
			t.Fatalf("not antisymmetric: %q %q", a, b)
		}
		if CompareVersions(a, a) != 0 {
			t.Fatalf("%q != itself", a)
		}
	})
}
