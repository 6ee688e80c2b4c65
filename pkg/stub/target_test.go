package stub_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// dirFiles is stub.Files over a plain directory, without pkg/bls.
type dirFiles struct{ root *os.Root }

func (d dirFiles) Open(name string) (stub.File, error) {
	f, err := d.root.Open(strings.TrimPrefix(name, "/"))
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (d dirFiles) Display(name string) string { return "disk0:" + name }

// TestBuildFromATarget builds plans from targets described by hand: Build
// needs the files and the paths, not the scanner's entries.
func TestBuildFromATarget(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "UKI-KERNEL")))
	write(t, dir, "EFI/Linux/a.efi.extra.d/x.cred", []byte("cred"))
	write(t, dir, "vmlinuz", []byte("KERNEL"))
	write(t, dir, "initrd", []byte("INITRD"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	files := dirFiles{root}
	named := stub.PlanEntry{ID: "x", Title: "X", Path: "disk0:/loader/entries/x.conf"}
	cases := []struct {
		name        string
		target      stub.Target
		cmdline     string
		pieces      int
		extra       string // /.extra/loader-boot-count-path
		errContains string
	}{
		{name: "UKI", target: stub.Target{Entry: named, Files: files, UKI: "/EFI/Linux/a.efi"}, cmdline: "ro", pieces: 2}, // x.cred, os-release
		{name: "UKI with options", target: stub.Target{Entry: named, Files: files, UKI: "/EFI/Linux/a.efi", Options: "quiet"}, cmdline: "quiet", pieces: 2},
		{name: "kernel and initrd", target: stub.Target{Entry: named, Files: files, Linux: "/vmlinuz", Initrd: []string{"/initrd"}, Options: "quiet"}, cmdline: `initrd=\initrd quiet`, pieces: 1},
		{name: "missing kernel, named as the user knows it", target: stub.Target{Entry: named, Files: files, Linux: "/nope"}, errContains: "nope"},
		{name: "a directory for a kernel, named by Files.Display", target: stub.Target{Entry: named, Files: files, Linux: "/EFI"}, errContains: "disk0:/EFI: not a regular file"},
		{name: "boot counting", target: stub.Target{Entry: named, Files: files, Linux: "/vmlinuz", BootCountPath: "/loader/entries/x+2-1.conf"}, extra: `\loader\entries\x+2-1.conf`, pieces: 1},
		{name: "no files", target: stub.Target{Entry: named, UKI: "/EFI/Linux/a.efi"}, errContains: "no files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := stub.Build(c.target, stub.Policy{})
			if c.errContains != "" {
				var pe *stub.PlanError
				if err == nil || !strings.Contains(err.Error(), c.errContains) || !errors.As(err, &pe) || pe.Entry != "x" {
					t.Fatalf("error %v, want a PlanError for x with %q", err, c.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Entry != named {
				t.Errorf("plan entry %+v, want %+v", p.Entry, named)
			}
			if p.Cmdline != c.cmdline || len(p.Pieces) != c.pieces {
				t.Errorf("cmdline %q, %d pieces; want %q, %d", p.Cmdline, len(p.Pieces), c.cmdline, c.pieces)
			}
			if c.extra != "" {
				initrd := string(readAll(t, p.Initrd))
				if !strings.Contains(initrd, ".extra/loader-boot-count-path") || !strings.Contains(initrd, c.extra+"\n") {
					t.Errorf("initrd lacks /.extra/loader-boot-count-path %q", c.extra)
				}
			}
		})
	}
}

// TestTargetOf holds what an entry the scanner found becomes: a type #2
// entry's .cmdline (shown in the menu) is not passed back as arguments, a
// type #1 entry's options are, a counted entry's rename is planned, and
// an invalid entry says why it cannot boot.
func TestTargetOf(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\nPRETTY_NAME=A Linux\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "K")))
	write(t, esp, "loader/entries/viauki.conf", []byte("title Via UKI\nuki /EFI/Linux/a.efi\noptions quiet\n"))
	write(t, esp, "loader/entries/k.conf", []byte("title Kernel\nlinux /vmlinuz\ninitrd /i1\ninitrd /i2\noptions root=/dev/sda\n"))
	for _, f := range []string{"vmlinuz", "i1", "i2"} {
		write(t, esp, f, []byte(f))
	}
	write(t, esp, "loader/entries/c+3-1.conf", []byte("title Counted\nlinux /vmlinuz\n"))
	byID := loadByID(t, esp, bls.Options{Display: func(dir, name string) string { return "vda1 (ESP):" + name }})
	// Which broken entries the scanner lists is pkg/bls's business: an
	// invalid entry is made by hand.
	byID["broken.conf"] = &bls.Entry{ID: "broken.conf", Status: bls.StatusInvalid, Err: errors.New("vda1 (ESP):/loader/entries/broken.conf: initrd /missing: no such file")}
	cases := []struct {
		id          string
		title       string
		uki, linux  string
		initrd      []string
		options     string
		bootCount   string
		errContains string
	}{
		{id: "a.efi", title: "A Linux", uki: "/EFI/Linux/a.efi"},
		{id: "viauki.conf", title: "Via UKI", uki: "/EFI/Linux/a.efi", options: "quiet"},
		{id: "k.conf", title: "Kernel", linux: "/vmlinuz", initrd: []string{"/i1", "/i2"}, options: "root=/dev/sda"},
		{id: "c.conf", title: "Counted", linux: "/vmlinuz", bootCount: "/loader/entries/c+2-2.conf"},
		{id: "broken.conf", errContains: "vda1 (ESP):/loader/entries/broken.conf"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			e := byID[tc.id]
			if e == nil {
				t.Fatalf("no entry %s", tc.id)
			}
			tg, err := stub.TargetOf(e)
			if tc.errContains != "" {
				var pe *stub.PlanError
				if !errors.As(err, &pe) || pe.Entry != tc.id || !strings.Contains(err.Error(), tc.errContains) {
					t.Fatalf("error %v, want a PlanError for %s with %q", err, tc.id, tc.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := stub.PlanEntry{ID: tc.id, Title: tc.title, Path: e.FullPath()}
			if tg.Entry != want {
				t.Errorf("entry %+v, want %+v", tg.Entry, want)
			}
			if tg.UKI != tc.uki || tg.Linux != tc.linux || strings.Join(tg.Initrd, ",") != strings.Join(tc.initrd, ",") || tg.Options != tc.options || tg.BootCountPath != tc.bootCount {
				t.Errorf("target %+v, want uki %q linux %q initrd %q options %q boot-count path %q", tg, tc.uki, tc.linux, tc.initrd, tc.options, tc.bootCount)
			}
			if got := tg.Files.Display("/x"); got != "vda1 (ESP):/x" {
				t.Errorf("files name /x %q, want the partition's display name", got)
			}
		})
	}
}

// TestMessagesNameFilesAsTheUserKnowsThem: a file the plan refuses is
// named by the partition's display name, not by where it is mounted.
func TestMessagesNameFilesAsTheUserKnowsThem(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("KERNEL"))
	write(t, esp, "loader/entries/k.conf", []byte("linux /vmlinuz\n"))
	c, err := bls.Load([]string{esp}, bls.Options{Display: func(dir, name string) string { return "vda1 (ESP):" + name }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tg, err := stub.TargetOf(c.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	_, err = stub.Build(tg, stub.Policy{MaxSize: 3})
	if err == nil || !strings.Contains(err.Error(), "vda1 (ESP):/vmlinuz is 6 bytes") || strings.Contains(err.Error(), esp) {
		t.Errorf("error %v, want the kernel named vda1 (ESP):/vmlinuz", err)
	}
}

// fakeNet is a network UKI (stub.NetUKI) whose files are a directory.
type fakeNet struct{ files stub.Files }

func (f fakeNet) Files() stub.Files { return f.files }
func (f fakeNet) Name() string      { return "/net.efi" }

// TestNetTargetOf: a network entry (a -url UKI, or a type #1 entry with
// uki-url) has no partition to read its UKI from: TargetOf refuses it
// (it never opens a path on a nil Root), NetTargetOf makes its target
// from the caller's files, keeping a type #1 entry's options and boot
// counting; NetTargetOf refuses an entry that is not a network entry.
func TestNetTargetOf(t *testing.T) {
	esp, served := t.TempDir(), t.TempDir()
	write(t, esp, "loader/entries/n+3.conf", []byte("title Net\nuki-url http://h/net.efi\noptions quiet\n"))
	write(t, esp, "loader/entries/k.conf", []byte("title Kernel\nlinux /vmlinuz\n"))
	write(t, esp, "vmlinuz", []byte("K"))
	img := ukitest.UKI(ukitest.S(".osrel", "ID=n\nPRETTY_NAME=Served\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "K"))
	write(t, served, "net.efi", img)
	url := bls.NetUKI{URL: "http://h/x/net.efi#min-version=1", Name: "http://h/x/net.efi", Headers: func() (io.ReaderAt, int64, error) {
		return bytes.NewReader(img), int64(len(img)), nil
	}}
	byID := loadByID(t, esp, bls.Options{NetBoot: true, URLs: []bls.NetUKI{url}})
	root, err := os.OpenRoot(served)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	src := fakeNet{dirFiles{root}}
	cases := []struct {
		id                 string
		path, title, opts  string
		bootCount, refused string
	}{
		{id: "net.efi", path: "http://h/x/net.efi", title: "Served"},
		{id: "n.conf", path: esp + "/loader/entries/n+3.conf", title: "Net", opts: "quiet", bootCount: "/loader/entries/n+2-1.conf"},
		{id: "k.conf", refused: "not a network entry"},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			e := byID[tc.id]
			if e == nil {
				t.Fatalf("no entry %s in %v", tc.id, byID)
			}
			tg, err := stub.NetTargetOf(e, src)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v, want %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stub.TargetOf(e); err == nil || !strings.Contains(err.Error(), "network") {
				t.Errorf("TargetOf: %v, want a refusal", err)
			}
			want := stub.PlanEntry{ID: tc.id, Title: tc.title, Path: tc.path}
			if tg.Entry != want || tg.UKI != "/net.efi" || tg.Options != tc.opts || tg.BootCountPath != tc.bootCount {
				t.Errorf("target %+v, want entry %+v, uki /net.efi, options %q, boot count %q", tg, want, tc.opts, tc.bootCount)
			}
			p, err := stub.Build(tg, stub.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if string(readAll(t, p.Kernel)) != "K" {
				t.Errorf("kernel %q", readAll(t, p.Kernel))
			}
		})
	}
}

// loadByID loads the entries of esp with o, by id; they are closed when
// the test ends.
func loadByID(t *testing.T, esp string, o bls.Options) map[string]*bls.Entry {
	t.Helper()
	c, err := bls.Load([]string{esp}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	byID := map[string]*bls.Entry{}
	for _, e := range c.Entries {
		byID[e.ID] = e
	}
	return byID
}
