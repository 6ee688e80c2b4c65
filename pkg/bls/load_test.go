package bls_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

func write(t *testing.T, root, name string, data []byte) { ukitest.WriteTree(t, root, name, data) }

func load(t *testing.T, o bls.Options, roots ...string) *bls.Config {
	t.Helper()
	c, err := bls.Load(roots, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func byID(c *bls.Config) map[string]*bls.Entry {
	m := map[string]*bls.Entry{}
	for _, e := range c.Entries {
		m[e.ID] = e
	}
	return m
}

func hiddenByID(c *bls.Config) map[string]*bls.Entry {
	m := map[string]*bls.Entry{}
	for _, e := range c.Hidden {
		m[e.ID] = e
	}
	return m
}

func hiddenIDs(c *bls.Config) string {
	var s []string
	for _, e := range c.Hidden {
		s = append(s, e.ID)
	}
	return strings.Join(s, " ")
}

func ids(c *bls.Config) string {
	var s []string
	for _, e := range c.Entries {
		s = append(s, e.ID)
	}
	return strings.Join(s, " ")
}

func osrelUKI(osrel, cmdline string, more ...ukitest.Section) []byte {
	secs := []ukitest.Section{ukitest.S(".osrel", osrel), ukitest.S(".cmdline", cmdline), ukitest.S(".linux", "MZ kernel")}
	return ukitest.UKI(append(secs, more...)...)
}

// TestBrokenEntriesDoNotHideOthers puts every kind of broken entry next to
// good ones: each broken one is listed invalid with its own reason, the
// good ones are listed ok, nothing panics.
func TestBrokenEntriesDoNotHideOthers(t *testing.T) {
	esp := t.TempDir()
	outside := t.TempDir()
	write(t, outside, "secret", []byte("outside the partition"))
	write(t, esp, "vmlinuz", []byte("kernel"))
	write(t, esp, "loader/entries/good.conf", []byte("title Good\nlinux /vmlinuz\n"))
	write(t, esp, "loader/entries/dotdot.conf", []byte("title DotDot\nlinux /../../etc/passwd\n"))
	write(t, esp, "loader/entries/missing.conf", []byte("title Missing\nlinux /vmlinuz-gone\n"))
	write(t, esp, "loader/entries/noinitrd.conf", []byte("linux /vmlinuz\ninitrd /nope.img\n"))
	write(t, esp, "loader/entries/nothing.conf", []byte("title Nothing\n"))
	write(t, esp, "loader/entries/both.conf", []byte("linux /vmlinuz\nefi /EFI/Linux/good.efi\n"))
	write(t, esp, "loader/entries/symlink.conf", []byte("linux /escape\n"))
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(esp, "escape")); err != nil {
		t.Fatal(err)
	}
	write(t, esp, "loader/entries/relsymlink.conf", []byte("linux /escape2\n"))
	if err := os.Symlink("../../"+filepath.Base(outside)+"/secret", filepath.Join(esp, "escape2")); err != nil {
		t.Fatal(err)
	}
	write(t, esp, "loader/entries/notuki.conf", []byte("efi /EFI/tools/shell.efi\n"))
	write(t, esp, "EFI/tools/shell.efi", ukitest.UKI(ukitest.S(".text", "shell")))
	write(t, esp, "loader/entries/ukikey.conf", []byte("uki /EFI/Linux/good.efi\nprofile 0\n"))
	write(t, esp, "loader/entries/big.conf", make([]byte, 100<<10))
	write(t, esp, "loader/entries/other-arch.conf", []byte("linux /vmlinuz\narchitecture aa64\n"))
	write(t, esp, "loader/entries/.hidden.conf", []byte("linux /vmlinuz\n"))
	write(t, esp, "loader/entries/auto-windows.conf", []byte("linux /vmlinuz\n"))
	write(t, esp, "loader/entries/readme.txt", []byte("linux /vmlinuz\n"))
	write(t, esp, "EFI/Linux/good.efi", osrelUKI("ID=debian\nPRETTY_NAME=\"Debian 12\"\nVERSION_ID=12\n", "quiet"))
	write(t, esp, "EFI/Linux/garbage.efi", []byte("MZ not really"))
	write(t, esp, "EFI/Linux/noosrel.efi", ukitest.UKI(ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/noname.efi", osrelUKI("VERSION_ID=1\n", ""))
	write(t, esp, "EFI/Linux/auto-fw.efi", osrelUKI("ID=x\n", ""))

	c := load(t, bls.Options{Arch: "x64"}, esp)
	got := byID(c)
	wantOK := []string{"good.conf", "good.efi", "ukikey.conf"}
	// Listed but not bootable: systemd-boot lists these too (it does not
	// check initrd files) or ukiboot cannot boot them.
	wantBad := map[string]string{
		"noinitrd.conf": "initrd /nope.img: no such file",
		"notuki.conf":   "not a bootable UKI",
		"big.conf":      "more than the",
	}
	// Hidden, as systemd-boot v259 drops them (boot_entry_add_type1,
	// boot_entry_add_type2).
	wantHidden := map[string]string{
		"dotdot.conf":     "not normalized",
		"missing.conf":    "linux /vmlinuz-gone: no such file",
		"nothing.conf":    "no linux, efi, uki or uki-url key",
		"both.conf":       "both linux and efi",
		"symlink.conf":    "escapes",
		"relsymlink.conf": "escapes",
		"other-arch.conf": "architecture aa64, this machine is x64",
		"garbage.efi":     "not a PE image",
		"noosrel.efi":     "no .osrel",
		"noname.efi":      "sets none of PRETTY_NAME",
	}
	for _, id := range wantOK {
		if e := got[id]; e == nil || !e.Bootable() {
			t.Errorf("%s: %+v", id, e)
		}
	}
	check := func(list map[string]*bls.Entry, want map[string]string, status bls.Status) {
		t.Helper()
		for id, reason := range want {
			e := list[id]
			if e == nil {
				t.Errorf("%s is not %s", id, status)
				continue
			}
			if e.Bootable() || e.Status != status || e.Err == nil || !strings.Contains(e.Err.Error(), reason) {
				t.Errorf("%s: status %s err %v; want %s with %q", id, e.Status, e.Err, status, reason)
				continue
			}
			if !strings.Contains(e.Err.Error(), esp) {
				t.Errorf("%s: error %q does not name the file", id, e.Err)
			}
		}
	}
	check(got, wantBad, bls.StatusInvalid)
	check(hiddenByID(c), wantHidden, bls.StatusHidden)
	if len(c.Entries) != len(wantOK)+len(wantBad) || len(c.Hidden) != len(wantHidden) {
		t.Errorf("listed %s; hidden %s", ids(c), hiddenIDs(c))
	}
	if e := got["ukikey.conf"]; e.UKI != "/EFI/Linux/good.efi" {
		t.Errorf("uki key: UKI %q", e.UKI)
	}
	if c.Default < 0 || !c.Entries[c.Default].Bootable() {
		t.Errorf("default %d", c.Default)
	}
}

func TestProfilesAreEntries(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/multi+3.efi", osrelUKI("ID=fedora\nNAME=Fedora\nVERSION_ID=40\n", "quiet",
		ukitest.S(".profile", "ID=default\n"),
		ukitest.S(".profile", "ID=Rescue\nTITLE=Rescue Mode\n"),
		ukitest.S(".cmdline", "rescue\x01 \n"),
		ukitest.S(".profile", ""),
		ukitest.S(".cmdline", "third"),
	))
	c := load(t, bls.Options{}, esp)
	// v259 keeps the profile ID as written (boot_entry_add_type2).
	if got := ids(c); got != "multi.efi multi.efi@Rescue multi.efi@2" {
		t.Fatalf("ids %q", got)
	}
	e := c.Entries
	wantTitles := []string{"Fedora", "Fedora (Rescue Mode)", "Fedora (Profile #3)"}
	wantCmd := []string{"quiet", "rescue", "third"}
	for i := range e {
		if e[i].Title != wantTitles[i] || e[i].Cmdline != wantCmd[i] || e[i].Profile != i || e[i].TriesLeft != 3 {
			t.Errorf("profile %d: title %q cmdline %q profile %d tries %d", i, e[i].Title, e[i].Cmdline, e[i].Profile, e[i].TriesLeft)
		}
	}
	if e[1].IDWithoutProfile != "multi.efi" || e[0].IDWithoutProfile != "" {
		t.Errorf("IDWithoutProfile %q %q", e[0].IDWithoutProfile, e[1].IDWithoutProfile)
	}
}

func TestDefaultChoice(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("k"))
	for _, n := range []string{"a-1", "a-2", "b-1", "c-1+0-3"} {
		write(t, esp, "loader/entries/"+n+".conf", []byte("linux /vmlinuz\n"))
	}
	// Listed (systemd-boot does not check initrd files) but not bootable.
	write(t, esp, "loader/entries/broken.conf", []byte("linux /vmlinuz\ninitrd /none\n"))
	// Order: broken ("broken" is newer than "b" as a version), b-1, a-2,
	// a-1, then c-1 (out of tries) last.
	cases := []struct {
		name    string
		conf    string
		vars    bls.MapVars
		want    string
		source  string
		oneshot string
	}{
		{"first", "", nil, "b-1.conf", "first entry", ""},
		{"loader.conf glob", "default A-*\n", nil, "a-2.conf", "loader.conf", ""},
		{"loader.conf no match", "default zzz*\n", nil, "b-1.conf", "first entry", ""},
		{"broken never default", "default broken*\n", nil, "b-1.conf", "first entry", ""},
		{"bad can be chosen explicitly", "default c-1.conf\n", nil, "c-1.conf", "loader.conf", ""},
		{"LoaderEntryDefault wins", "default a-2.conf\n", bls.MapVars{"LoaderEntryDefault": "a-1.conf"}, "a-1.conf", "LoaderEntryDefault", ""},
		{"oneshot wins", "default a-2.conf\n", bls.MapVars{"LoaderEntryDefault": "a-1.conf", "LoaderEntryOneShot": "B-1.CONF"}, "b-1.conf", "LoaderEntryOneShot", "b-1.conf"},
		{"oneshot no match", "", bls.MapVars{"LoaderEntryOneShot": "x", "LoaderEntryDefault": "a-1.conf"}, "a-1.conf", "LoaderEntryDefault", ""},
		{"@saved in loader.conf", "default @saved\n", bls.MapVars{"LoaderEntryLastBooted": "a-1.conf"}, "a-1.conf", "LoaderEntryLastBooted", ""},
		{"@saved in variable", "", bls.MapVars{"LoaderEntryDefault": "@saved", "LoaderEntryLastBooted": "a-2.conf"}, "a-2.conf", "LoaderEntryLastBooted", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(esp, "loader/loader.conf"))
			if c.conf != "" {
				write(t, esp, "loader/loader.conf", []byte(c.conf))
			}
			o := bls.Options{}
			if c.vars != nil {
				o.Vars = c.vars
			}
			cfg := load(t, o, esp)
			if got := ids(cfg); got != "broken.conf b-1.conf a-2.conf a-1.conf c-1.conf" {
				t.Fatalf("order %q", got)
			}
			oneShot := ""
			if cfg.DefaultSource == bls.VarEntryOneShot {
				oneShot = cfg.Vars.OneShot
			}
			if cfg.Default < 0 || cfg.Entries[cfg.Default].ID != c.want || cfg.DefaultSource != c.source || oneShot != c.oneshot {
				t.Errorf("default %d (%s) from %q oneshot %q", cfg.Default, cfg.Entries[max(cfg.Default, 0)].ID, cfg.DefaultSource, oneShot)
			}
		})
	}
}

func TestNothingBootable(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "loader/entries/x.conf", []byte("title X\n"))
	write(t, esp, "loader/entries/y.conf", []byte("linux /none\n"))
	write(t, esp, "loader/entries/z.conf", []byte("linux /z\ninitrd /none\n"))
	write(t, esp, "z", []byte("k"))
	c := load(t, bls.Options{}, esp)
	if c.Default != -1 || len(c.Entries) != 1 || len(c.Hidden) != 2 {
		t.Errorf("default %d entries %d hidden %d", c.Default, len(c.Entries), len(c.Hidden))
	}
	empty := load(t, bls.Options{}, t.TempDir())
	if empty.Default != -1 || len(empty.Entries) != 0 {
		t.Errorf("empty: %+v", empty)
	}
}

func TestMergedPartitions(t *testing.T) {
	esp, xb := t.TempDir(), t.TempDir()
	write(t, esp, "loader/loader.conf", []byte("default xb*\ntimeout menu-force\n"))
	write(t, xb, "loader/loader.conf", []byte("default esp*\n")) // ignored: loader.conf comes from the ESP
	write(t, esp, "k", []byte("k"))
	write(t, xb, "k", []byte("k"))
	write(t, esp, "loader/entries/esp.conf", []byte("linux /k\n"))
	write(t, xb, "loader/entries/xb.conf", []byte("linux /k\n"))
	c := load(t, bls.Options{}, esp, xb, esp) // the second esp is skipped
	if ids(c) != "xb.conf esp.conf" || c.Entries[c.Default].ID != "xb.conf" || c.Loader.Timeout.Kind != bls.TimeoutMenuForce {
		t.Errorf("ids %q default %d timeout %+v", ids(c), c.Default, c.Loader.Timeout)
	}
	if e := byID(c)["xb.conf"]; e.Root.Path != xb {
		t.Errorf("xb.conf on %s", e.Root.Path)
	}
	if len(c.Warnings) != 2 || !strings.Contains(c.Warnings[0], "same directory") || !strings.Contains(c.Warnings[1], "ignored") {
		t.Errorf("warnings %q", c.Warnings)
	}
	if _, err := bls.Load([]string{filepath.Join(esp, "missing")}, bls.Options{}); err == nil {
		t.Error("a missing partition directory is not an error")
	}
}

// TestLoaderConfFromESPOnly follows systemd-boot's config_load_defaults:
// loader.conf is read from the ESP (the first partition given) and never
// from XBOOTLDR, even when the ESP has none.
func TestLoaderConfFromESPOnly(t *testing.T) {
	for _, c := range []struct {
		name        string
		esp, xb     string // loader.conf contents; "" for none
		wantDefault string
		wantTimeout bls.TimeoutKind
		wantWarning string
	}{
		{"ESP has loader.conf, XBOOTLDR too", "default esp*\ntimeout menu-force\n", "default xb*\n", "esp.conf", bls.TimeoutMenuForce,
			"XB/loader/loader.conf: ignored: loader.conf is read from the ESP (the first partition) only"},
		{"only XBOOTLDR has loader.conf", "", "default esp*\ntimeout menu-force\n", "xb.conf", bls.TimeoutUnset,
			"XB/loader/loader.conf: ignored: loader.conf is read from the ESP (the first partition) only"},
		{"only ESP has loader.conf", "default esp*\n", "", "esp.conf", bls.TimeoutUnset, ""},
		{"ESP loader.conf with comments and CRLF", "# fleet\r\ndefault esp*\r\n\r\n", "", "esp.conf", bls.TimeoutUnset, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			esp, xb := t.TempDir(), t.TempDir()
			for _, d := range []struct{ dir, conf string }{{esp, c.esp}, {xb, c.xb}} {
				if d.conf != "" {
					write(t, d.dir, "loader/loader.conf", []byte(d.conf))
				}
				write(t, d.dir, "k", []byte("k"))
			}
			write(t, esp, "loader/entries/esp.conf", []byte("linux /k\n"))
			write(t, xb, "loader/entries/xb.conf", []byte("linux /k\n"))
			cfg := load(t, bls.Options{}, esp, xb)
			if cfg.Default < 0 || cfg.Entries[cfg.Default].ID != c.wantDefault {
				t.Errorf("default %d of %q, want %s", cfg.Default, ids(cfg), c.wantDefault)
			}
			if cfg.Loader.Timeout.Kind != c.wantTimeout {
				t.Errorf("timeout %+v, want kind %v", cfg.Loader.Timeout, c.wantTimeout)
			}
			var want []string
			if c.wantWarning != "" {
				want = []string{strings.ReplaceAll(c.wantWarning, "XB", xb)}
			}
			if !reflect.DeepEqual(cfg.Warnings, want) {
				t.Errorf("warnings %q, want %q", cfg.Warnings, want)
			}
			// The bytes systemd-boot measures into PCR 5 are the ESP's
			// file, as read, comments and all.
			if c.esp != "" && (cfg.Loader == nil || string(cfg.Loader.Raw) != c.esp) {
				t.Errorf("loader.conf bytes kept for PCR 5: %+v, want %q", cfg.Loader, c.esp)
			}
			if c.esp == "" && cfg.Loader != nil && cfg.Loader.Raw != nil {
				t.Errorf("loader.conf bytes %q kept from the XBOOTLDR partition", cfg.Loader.Raw)
			}
		})
	}
}

func TestEFIVarFS(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "LoaderEntryDefault-"+bls.LoaderVendorGUID, bls.EncodeVarString("fedora-*.conf"))
	v := bls.EFIVarFS{Dir: dir}
	if !v.Available() {
		t.Fatal("not available")
	}
	if s, err := v.Get("LoaderEntryDefault"); err != nil || s != "fedora-*.conf" {
		t.Errorf("Get = %q, %v", s, err)
	}
	if _, err := v.Get("LoaderEntryOneShot"); !os.IsNotExist(err) {
		t.Errorf("missing variable: %v", err)
	}
	if _, err := bls.DecodeVarString("x", []byte{1, 2, 3}); err == nil {
		t.Error("short variable accepted")
	}
}

// TestFIFONeverHangs: a named pipe where an entry expects a file (or as
// loader.conf) is refused at once instead of blocking the boot.
func TestFIFONeverHangs(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("k"))
	write(t, esp, "loader/entries/good.conf", []byte("linux /vmlinuz\n"))
	write(t, esp, "loader/entries/pipe.conf", []byte("linux /loader/fifo\n"))
	for _, p := range []string{"loader/fifo", "loader/loader.conf"} {
		if err := syscall.Mkfifo(filepath.Join(esp, p), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	done := make(chan *bls.Config)
	go func() {
		c, err := bls.Load([]string{esp}, bls.Options{})
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	select {
	case c := <-done:
		defer c.Close()
		e := hiddenByID(c)["pipe.conf"]
		if e == nil || e.Bootable() || !strings.Contains(e.Err.Error(), "not a regular file") {
			t.Errorf("pipe.conf: %+v", e)
		}
		if !byID(c)["good.conf"].Bootable() {
			t.Error("good.conf not bootable")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load hangs on a FIFO")
	}
}

func TestQuotesAndProfileKey(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("k"))
	write(t, esp, "loader/loader.conf", []byte("default \"b.conf\"\n"))
	write(t, esp, "loader/entries/a.conf", []byte("title \"Quoted Title\"\nlinux /vmlinuz\nprofile 1x\n"))
	write(t, esp, "loader/entries/b.conf", []byte("title B\nlinux /vmlinuz\nprofile 2\n"))
	c := load(t, bls.Options{}, esp)
	if c.Entries[c.Default].ID != "b.conf" {
		t.Errorf("quoted default: %s", c.Entries[c.Default].ID)
	}
	m := byID(c)
	if m["a.conf"].Title != "Quoted Title" || m["a.conf"].Profile != 0 || m["b.conf"].Profile != 2 {
		t.Errorf("a: %q profile %d; b profile %d", m["a.conf"].Title, m["a.conf"].Profile, m["b.conf"].Profile)
	}
}

func TestEFIVarFSSetDelete(t *testing.T) {
	dir := t.TempDir()
	v := bls.EFIVarFS{Dir: dir}
	if err := v.Set("LoaderEntryDefault", "fedora.conf"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "LoaderEntryDefault-"+bls.LoaderVendorGUID))
	if !bytes.Equal(b, bls.EncodeVarString("fedora.conf")) || b[0] != 7 {
		t.Errorf("stored %x", b)
	}
	if s, err := v.Get("LoaderEntryDefault"); err != nil || s != "fedora.conf" {
		t.Errorf("Get %q %v", s, err)
	}
	if err := v.Delete("LoaderEntryDefault"); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete("LoaderEntryDefault"); err != nil {
		t.Errorf("deleting a missing variable: %v", err)
	}
}
