package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSamePayload: the download's plan is compared with the disk's plan
// of the same UKI before it is timed, so that a download handing the
// kernel other bytes (or none) is never measured.
func TestSamePayload(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "plan-sha256.txt"))
	if err != nil {
		t.Fatal(err)
	}
	disk := string(b)
	const kernel = "105566e8d87fc7a5e65c7d957d529439503b0b837ad162ba35d00bc08925bb13"
	const initrd = "4d8fa33b6e71a47e7e4a4e31929fcf4278d5cc0e44b9197f002799a6025041aa"
	for _, tc := range []struct {
		name, net string
		wantErr   bool
	}{
		{"the same kernel and initrd from another path", strings.Replace(disk, "path:     out/bench", "path:     http://127.0.0.1:1/", 1), false},
		{"another kernel", strings.Replace(disk, "sha256 "+kernel+"\n", "sha256 "+strings.Repeat("0", 64)+"\n", 1), true},
		{"another initrd", strings.Replace(disk, initrd, strings.Repeat("1", 64), 1), true},
		{"no initrd line", strings.Replace(disk, "initrd:   2621856 bytes, sha256 "+initrd, "", 1), true},
		{"no plan at all", "ukiboot: http://127.0.0.1:1/big.efi: connection refused\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := samePayload(disk, tc.net, "plan-url.txt")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want an error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "plan-url.txt") {
				t.Errorf("err %v does not name the log", err)
			}
		})
	}
	t.Run("a disk plan without digests never matches", func(t *testing.T) {
		if err := samePayload("no plan", "no plan", "plan-url.txt"); err == nil {
			t.Fatal("two plans without a kernel were found the same")
		}
	})
}

func TestLinkSpeed(t *testing.T) {
	for _, tc := range []struct {
		bps  int64
		want string
	}{
		{125000000, "1 Gbit/s"},
		{1250000000, "10 Gbit/s"},
		{12500000, "100 Mbit/s"},
		{312500000, "2.5 Gbit/s"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := linkSpeed(tc.bps); got != tc.want {
				t.Errorf("linkSpeed(%d) = %q, want %q", tc.bps, got, tc.want)
			}
		})
	}
}

// TestStartServer: benchtab takes benchserve's URL from its first line,
// and a server that prints none is an error (stand-in scripts here).
func TestStartServer(t *testing.T) {
	for _, tc := range []struct {
		name, script, wantURL, wantErr string
	}{
		{"the URL on the first line", "echo http://127.0.0.1:4242/\n", "http://127.0.0.1:4242/", ""},
		{"a server that failed", "echo 'benchserve: -root x: no such directory' >&2\nexit 1\n", "", "no URL"},
		{"a server on another address", "echo http://192.0.2.1:80/\n", "", "no URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "benchserve")
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+tc.script), 0o755); err != nil {
				t.Fatal(err)
			}
			s, err := startServer(bin, t.TempDir(), 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s.stop()
			if s.url != tc.wantURL {
				t.Errorf("URL %q, want %q", s.url, tc.wantURL)
			}
		})
	}
}

// TestSizeCases: case 6 judges both builds and, with the ROM, the core
// shares against 1.5 MiB over 122 KiB and the ROM set's initramfs
// against the ROM's initramfs budget of each build (4 MiB with network
// boot, 3 MiB without).
func TestSizeCases(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	share := func(set, line string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, set, "ukiboot-share"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noNet, net := write("nonetboot", 5<<20), write("net", 5<<20+1)
	write("rom-core-nonetboot/x", 0)
	write("rom-core/x", 0)
	write("rom-set-nonetboot/ukiboot.cpio.xz", 3<<20)
	write("rom-set/ukiboot.cpio.xz", 4<<20+1)
	share("rom-core-nonetboot", "set=core xz=616988 raw=1880484")
	share("rom-core", "set=core xz=1700000 raw=5000000")
	share("rom-set-nonetboot", "set=rom xz=653244 raw=2007460")
	share("rom-set", "set=rom xz=1345420 raw=4000000")
	c := config{fixtures: dir, stripped: net, noNet: noNet, rom: true, romInitramfsMax: 4 << 20, romInitramfsMaxNoNet: 3 << 20}
	rows, notes := sizeCases(c)
	want := map[string]string{
		"6  stripped ukiboot -tags nonetboot (-trimpath -s -w)":    "pass",
		"6  stripped ukiboot with network boot":                    "pass",
		"6  ROM (core, nonetboot): ukiboot's xz share - 122 KiB":   "pass",
		"6  ROM (core): ukiboot's xz share - 122 KiB":              "FAIL",
		"6  ROM (rom, nonetboot): ukiboot's xz share":              "report",
		"6  ROM (rom, nonetboot): initramfs xz, ROM set + ukiboot": "pass",
		"6  ROM (rom): ukiboot's xz share":                         "report",
		"6  ROM (rom): initramfs xz, ROM set + ukiboot":            "FAIL",
	}
	if len(rows) != len(want) || len(notes) != 4 {
		t.Errorf("%d rows and %d notes, want %d and 4: %+v", len(rows), len(notes), len(want), rows)
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if got, ok := want[r.name]; !ok || r.verdict() != got {
				t.Errorf("%q: %s (%+v), want %q", r.name, r.verdict(), r, got)
			}
		})
	}
	t.Run("a nonetboot binary over 5 MiB fails", func(t *testing.T) {
		c.noNet = net
		if r, _ := sizeCases(c); r[0].verdict() != "FAIL" {
			t.Errorf("%+v: %s, want FAIL", r[0], r[0].verdict())
		}
	})
	t.Run("a missing share fails", func(t *testing.T) {
		os.Remove(filepath.Join(dir, "rom-set", "ukiboot.cpio.xz"))
		c.noNet = noNet
		r, _ := sizeCases(c)
		if v := r[len(r)-1].verdict(); v != "FAIL" {
			t.Errorf("%+v: %s, want FAIL", r[len(r)-1], v)
		}
	})
}

func TestParseCases(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // nil: every case
		wantErr  bool
	}{
		{"empty is every case", "", nil, false},
		{"two cases", "6,8", []string{"6", "8"}, false},
		{"spaces around", " 8 ", []string{"8"}, false},
		{"an unknown case", "9", nil, true},
		{"a letter", "1a", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCases(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want an error: %v", err, tc.wantErr)
			}
			if len(got) != len(tc.want) || (tc.want == nil) != (got == nil) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("%s not selected: %v", w, got)
				}
			}
		})
	}
}
