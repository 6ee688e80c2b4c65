package bls_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// TestUKIURLEntries: type #1 entries with uki-url are hidden without
// network boot, listed and bootable with it, except the relative ":name"
// form (no origin URL) and URLs the network code refuses.
func TestUKIURLEntries(t *testing.T) {
	refuseFragment := func(raw string) (string, error) {
		if strings.Contains(raw, "#") {
			return "", errors.New("unknown fragment key")
		}
		return raw, nil
	}
	cases := []struct {
		name    string
		url     string
		netBoot bool
		check   func(string) (string, error)
		status  bls.Status
		why     string // in Err
		uki     string // Entry.UKI when listed
	}{
		{"no network boot: hidden", "http://example.com/x.efi", false, nil, bls.StatusHidden, "cannot boot from the network", ""},
		{"no network boot: the password is not shown", "http://u:secret@example.com/x.efi", false, nil, bls.StatusHidden, "http://example.com/x.efi:", ""},
		{"http", "http://example.com/x.efi", true, nil, bls.StatusOK, "", "http://example.com/x.efi"},
		{"https without password and fragment", "https://u:secret@example.com/x.efi#min-version=6.1", true, nil, bls.StatusOK, "", "https://example.com/x.efi"},
		{"relative: no origin URL", ":x.efi", true, nil, bls.StatusHidden, "no origin URL", ""},
		{"relative, no network boot: no origin URL", ":x.efi", false, nil, bls.StatusHidden, "no origin URL", ""},
		{"ftp: invalid", "ftp://example.com/x.efi", true, nil, bls.StatusInvalid, "not an absolute http:// or https:// URL", ""},
		{"a path: invalid", "/EFI/x.efi", true, nil, bls.StatusInvalid, "not an absolute http:// or https:// URL", ""},
		{"refused by CheckURL: invalid", "http://example.com/x.efi#bad=1", true, refuseFragment, bls.StatusInvalid, "unknown fragment key", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			esp := t.TempDir()
			write(t, esp, "loader/entries/net.conf", []byte("title Net\noptions quiet\nuki-url "+tc.url+"\n"))
			c := load(t, bls.Options{NetBoot: tc.netBoot, CheckURL: tc.check}, esp)
			e := byID(c)["net.conf"]
			if e == nil {
				e = hiddenByID(c)["net.conf"]
			}
			if e == nil || e.Status != tc.status {
				t.Fatalf("entry %+v, want status %s", e, tc.status)
			}
			if tc.why != "" && (e.Err == nil || !strings.Contains(e.Err.Error(), tc.why)) {
				t.Errorf("error %v, want %q", e.Err, tc.why)
			}
			if e.Err != nil && strings.Contains(e.Err.Error(), "secret") {
				t.Errorf("error %v shows the password", e.Err)
			}
			if tc.status != bls.StatusOK {
				return
			}
			if !e.Network() || e.UKI != tc.uki || e.UKIURL != tc.url || e.Title != "Net" || e.Cmdline != "quiet" || c.Default != 0 {
				t.Errorf("entry: network %v uki %q url %q title %q cmdline %q default %d", e.Network(), e.UKI, e.UKIURL, e.Title, e.Cmdline, c.Default)
			}
		})
	}
}

// netUKI serves img from memory as a -url UKI; err, when set, is what
// opening it returns, readErr what reads return.
func netUKI(url string, img []byte, err, readErr error) bls.NetUKI {
	return bls.NetUKI{URL: url, Name: strings.Split(url, "#")[0], Headers: func() (io.ReaderAt, int64, error) {
		if err != nil {
			return nil, 0, err
		}
		if readErr != nil {
			return readerAtFunc(func([]byte, int64) (int, error) { return 0, readErr }), int64(len(img)), nil
		}
		return bytes.NewReader(img), int64(len(img)), nil
	}}
}

// TestURLEntries: -url UKIs are type #2 entries listed before the entries
// of the partitions, in the order given; the first bootable one is the
// default, before LoaderEntryOneShot and loader.conf.
func TestURLEntries(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/disk.efi", osrelUKI("ID=disk\nVERSION_ID=1\n", "root=disk"))
	write(t, esp, "EFI/Linux/taken.efi", osrelUKI("ID=taken\n", ""))
	write(t, esp, "loader/loader.conf", []byte("default disk.efi\n"))
	multi := osrelUKI("ID=net\nPRETTY_NAME=\"Net OS\"\nVERSION_ID=7\n", "root=net",
		ukitest.S(".profile", "ID=main\n"), ukitest.S(".profile", "ID=rescue\nTITLE=Rescue\n"))
	down := errors.New("connection refused")
	cases := []struct {
		name    string
		urls    []bls.NetUKI
		ids     string // listed, in order
		titles  string // of the -url entries
		deflt   string // the default's id and source
		invalid string // the first -url entry's Err, when invalid (all of it)
		warning string // the first -url entry's Warning
	}{
		{"profiles, first, default", []bls.NetUKI{netUKI("http://h/Net.EFI#min-version=7", multi, nil, nil)},
			"net.efi net.efi@rescue disk.efi taken.efi", "Net OS|Net OS (Rescue)", "net.efi -url", "", ""},
		{"in the order given", []bls.NetUKI{netUKI("http://h/b.efi", osrelUKI("ID=b\n", ""), nil, nil), netUKI("http://h/a.efi", osrelUKI("ID=a\n", ""), nil, nil)},
			"b.efi a.efi disk.efi taken.efi", "b|a", "b.efi -url", "", ""},
		{"an id taken by a disk entry is the URL", []bls.NetUKI{netUKI("http://h/dir/taken.efi", osrelUKI("ID=t\n", ""), nil, nil)},
			"http://h/dir/taken.efi disk.efi taken.efi", "t", "http://h/dir/taken.efi -url", "", ""},
		{"an id taken by an earlier -url is the URL", []bls.NetUKI{netUKI("http://h/a/x.efi", osrelUKI("ID=a\n", ""), nil, nil), netUKI("http://h/b/x.efi", osrelUKI("ID=b\n", ""), nil, nil)},
			"x.efi http://h/b/x.efi disk.efi taken.efi", "a|b", "x.efi -url", "", ""},
		{"no last segment: the URL", []bls.NetUKI{netUKI("http://h/", osrelUKI("ID=n\n", ""), nil, nil)},
			"http://h/ disk.efi taken.efi", "n", "http://h/ -url", "", ""},
		{"server down: listed by URL, bootable", []bls.NetUKI{netUKI("http://h/x.efi", nil, down, nil)},
			"x.efi disk.efi taken.efi", "http://h/x.efi", "x.efi -url", "", "connection refused"},
		{"a read fails: listed by URL, bootable", []bls.NetUKI{netUKI("http://h/x.efi", multi, nil, down)},
			"x.efi disk.efi taken.efi", "http://h/x.efi", "x.efi -url", "", "connection refused"},
		{"not a UKI: invalid, not the default", []bls.NetUKI{netUKI("http://h/x.efi", []byte("<html>not found</html>"), nil, nil)},
			"x.efi disk.efi taken.efi", "http://h/x.efi", "taken.efi LoaderEntryOneShot", "http://h/x.efi: not a PE image: no DOS header", ""},
		{"for another CPU: invalid", []bls.NetUKI{netUKI("http://h/x.efi", ukitest.Image{Machine: 0xaa64, Sections: []ukitest.Section{ukitest.S(".osrel", "ID=arm\n")}}.Bytes(), nil, nil)},
			"x.efi disk.efi taken.efi", "http://h/x.efi", "taken.efi LoaderEntryOneShot", "http://h/x.efi: built for aa64 (arm64), this machine is x64", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, bls.Options{Arch: "x64", URLs: tc.urls, Vars: bls.MapVars{"LoaderEntryOneShot": "taken.efi"}}, esp)
			if got := ids(c); got != tc.ids {
				t.Fatalf("ids %q, want %q (hidden %s)", got, tc.ids, hiddenIDs(c))
			}
			var titles []string
			for _, e := range c.Entries {
				if e.Network() {
					titles = append(titles, e.Title)
					if e.Root != nil || e.UKIURL == "" || e.UKI == "" || e.DisplayPath() != e.UKI || e.FullPath() != e.UKI {
						t.Errorf("%s: root %v url %q uki %q display %q full %q", e.ID, e.Root, e.UKIURL, e.UKI, e.DisplayPath(), e.FullPath())
					}
				}
			}
			if got := strings.Join(titles, "|"); got != tc.titles {
				t.Errorf("titles %q, want %q", got, tc.titles)
			}
			if got := fmt.Sprintf("%s %s", c.Entries[c.Default].ID, c.DefaultSource); got != tc.deflt {
				t.Errorf("default %q, want %q", got, tc.deflt)
			}
			first := c.Entries[0]
			if tc.invalid != "" && (first.Status != bls.StatusInvalid || first.Err.Error() != tc.invalid) {
				t.Errorf("first: %s %v, want invalid with %q", first.Status, first.Err, tc.invalid)
			}
			if tc.invalid == "" && !first.Bootable() {
				t.Errorf("first: %s %v, want bootable", first.Status, first.Err)
			}
			if tc.warning != "" && (first.Warning == nil || !strings.Contains(first.Warning.Error(), tc.warning) ||
				!strings.Contains(first.Warning.Error(), "http://h/x.efi") || !strings.Contains(strings.Join(c.Warnings, "\n"), tc.warning)) {
				t.Errorf("warning %v (config %q), want %q", first.Warning, c.Warnings, tc.warning)
			}
		})
	}
}
