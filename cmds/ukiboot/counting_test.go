package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBootCounting(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2+10.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1+1-0.efi", "os", "1", "c1", "K1")
	os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("K0"), 0o644)
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	os.WriteFile(filepath.Join(esp, "loader/entries/t1+1-0.conf"), []byte("linux /vmlinuz\n"), 0o644)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux/os-2.efi.extra.d"), 0o755)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-2.efi.extra.d/a.cred"), []byte("cred"), 0o644)

	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(esp, name))
		return err == nil
	}
	var stdout, stderr bytes.Buffer
	f := &fakeSystem{platform: noPlatform(t)}
	// A dry run renames nothing.
	if rc := runWith([]string{"-auto", "-dry-run", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || !exists("EFI/Linux/os-2+10.efi") {
		t.Fatalf("dry run: rc %d\n%s", rc, stderr.String())
	}
	if !strings.Contains(stderr.String(), "would rename os-2+10.efi to os-2+09-1.efi") {
		t.Errorf("dry run log:\n%s", stderr.String())
	}

	// A boot renames the entry (keeping the digit width) and tells the
	// next OS which file to bless; companion files stay where they are.
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	if exists("EFI/Linux/os-2+10.efi") || !exists("EFI/Linux/os-2+09-1.efi") {
		t.Errorf("not renamed:\n%s", stderr.String())
	}
	l := f.loads[0]
	if !bytes.Contains(l.initrd, []byte(".extra/loader-boot-count-path\x00\\EFI\\Linux\\os-2+09-1.efi\n")) {
		t.Errorf("initrd lacks /.extra/loader-boot-count-path")
	}
	if !bytes.Contains(l.initrd, []byte(".extra/credentials/a.cred")) {
		t.Errorf("credentials of the renamed UKI lost")
	}

	// The last try: os-1 with +1-0 becomes +0-1 and is then listed last.
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-verify", "off", "-entry", "os-1.efi", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || !exists("EFI/Linux/os-1+0-1.efi") {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	stdout.Reset()
	runWith([]string{"-list", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var order []string
	for _, ln := range lines {
		f := strings.Fields(ln)
		if len(f) > 2 && f[0] == "*" {
			order = append(order, f[2])
		} else if len(f) > 1 && f[0] >= "1" && f[0] <= "9" {
			order = append(order, f[1])
		}
	}
	if strings.Join(order, " ") != "os-2.efi t1.conf os-1.efi" {
		t.Errorf("order after the last try: %v\n%s", order, stdout.String())
	}

	// A rename that fails (here: the partition cannot be made writable)
	// is reported, and the entry boots anyway.
	ro := t.TempDir()
	ukiFile(t, ro, "ro+2.efi", "ro", "1", "c", "KRO")
	sys := f.sys()
	sys.roots = func(o *options, logf func(string, ...any)) (*partitions, error) {
		return &partitions{dirs: []string{ro}, close: func() {}, writable: func(string) (func() error, error) {
			return nil, errors.New("remounting /dev/vda1 read-write: read-only device")
		}}, nil
	}
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-verify", "off"}, &stdout, &stderr, sys); rc != 0 || !strings.Contains(stderr.String(), "read-only device; booting without counting") || !exists2(ro, "EFI/Linux/ro+2.efi") {
		t.Errorf("rename failure: rc %d\n%s", rc, stderr.String())
	}
}

func exists2(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// TestEFIEntriesNotCounted follows systemd-boot v258+'s
// boot_entry_bump_counters (LOADER_TYPE_BUMP_COUNTERS): a type #1 "efi"
// entry is not renamed and its OS is told no boot-count path, while "uki"
// and "linux" entries are counted. The counter still leaves the id.
func TestEFIEntriesNotCounted(t *testing.T) {
	cases := []struct {
		name, file, key, id, after string
		counted                    bool
	}{
		{"efi entry", "e+3.conf", "efi /EFI/other/x.efi", "e.conf", "e+3.conf", false},
		{"uki entry", "u+3.conf", "uki /EFI/other/x.efi", "u.conf", "u+2-1.conf", true},
		{"linux entry", "l+3.conf", "linux /vmlinuz", "l.conf", "l+2-1.conf", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			esp := t.TempDir()
			ukiFile(t, esp, "x.efi", "os", "1", "c", "KX")
			os.MkdirAll(filepath.Join(esp, "EFI/other"), 0o755)
			if err := os.Rename(filepath.Join(esp, "EFI/Linux/x.efi"), filepath.Join(esp, "EFI/other/x.efi")); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("KL"), 0o644)
			os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
			os.WriteFile(filepath.Join(esp, "loader/entries", c.file), []byte(c.key+"\n"), 0o644)
			var stdout, stderr bytes.Buffer
			f := &fakeSystem{platform: noPlatform(t)}
			if rc := runWith([]string{"-auto", "-verify", "off", "-entry", c.id, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || len(f.loads) != 1 {
				t.Fatalf("rc %d loads %d\n%s", rc, len(f.loads), stderr.String())
			}
			if !exists2(esp, "loader/entries/"+c.after) {
				t.Errorf("want loader/entries/%s after the boot\n%s", c.after, stderr.String())
			}
			told := bytes.Contains(f.loads[0].initrd, []byte(".extra/loader-boot-count-path"))
			if told != c.counted {
				t.Errorf("loader-boot-count-path handed over: %v, want %v", told, c.counted)
			}
		})
	}
}
