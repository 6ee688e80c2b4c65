package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// trustTree is issue 10's case: with a trust store, an ESP holding
// unsigned p-3.efi, signed q.efi and signed p-1.efi, and loader.conf
// "default p-*".
func trustTree(t *testing.T) (esp, db string) {
	esp, _ = verifyTree(t)
	for _, n := range []string{"EFI/Linux/os-1.efi", "EFI/Linux/os-2.efi", "loader/entries/plain.conf"} {
		os.Remove(filepath.Join(esp, n))
	}
	ca := ukitest.NewCA(t, "Fleet db CA", false)
	key := ukitest.NewLeaf(t, "Fleet Signer", false, ca)
	db = t.TempDir()
	os.WriteFile(filepath.Join(db, "ca.der"), ca.Cert.Raw, 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/p-3.efi"), ukitest.UKI(ukitest.S(".osrel", "ID=p\nVERSION_ID=3\n"), ukitest.S(".cmdline", "p3"), ukitest.S(".linux", "KP3")), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/q.efi"), signedUKI(t, key, ukitest.S(".osrel", "ID=q\nVERSION_ID=1\n"), ukitest.S(".cmdline", "q"), ukitest.S(".linux", "KQ")), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/p-1.efi"), signedUKI(t, key, ukitest.S(".osrel", "ID=p\nVERSION_ID=1\n"), ukitest.S(".cmdline", "p1"), ukitest.S(".linux", "KP1")), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte("default p-*\n"), 0o644)
	return esp, db
}

// -list, -auto and the menu agree on the default and on the order: the
// default is chosen as systemd-boot chooses it (trust does not move it),
// -auto starts from it and falls back past the entry that fails
// verification in the order -list shows, and the menu highlights it. In
// the tree the menu order is p-3.efi, p-1.efi, q.efi: the later cases
// name a default that is not the first entry.
func TestModesAgreeOnDefaultAndOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		// loaderConf, when set, replaces loader.conf's "default p-*".
		loaderConf   string
		entryDefault string // LoaderEntryDefault, "" for none
		wantDefault  string
		wantLoaded   string // the entry -auto boots
	}{
		{"loader.conf's default is the first entry, which is untrusted", "", "", "p-3.efi", "p-1.efi"},
		{"loader.conf's default is a later entry", "default q.efi\n", "", "q.efi", "q.efi"},
		{"LoaderEntryDefault names a later entry", "", "q.efi", "q.efi", "q.efi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			esp, db := trustTree(t)
			if tc.loaderConf != "" {
				os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte(tc.loaderConf), 0o644)
			}
			f := &fakeSystem{platform: noPlatform(t)}
			if tc.entryDefault != "" {
				vars := t.TempDir()
				os.WriteFile(filepath.Join(vars, "LoaderEntryDefault-"+bls.LoaderVendorGUID), bls.EncodeVarString(tc.entryDefault), 0o644)
				f.vars = bls.EFIVarFS{Dir: vars}
			}
			listOrder, defaultTitle := listDefaultFirst(t, f, db, esp, tc.wantDefault)
			autoTriesInListOrder(t, f, db, esp, listOrder, tc.wantLoaded)
			menuHighlightsDefault(t, f, db, esp, tc.wantDefault, defaultTitle)
		})
	}
}

// listDefaultFirst runs -list -json and checks that it marks want as the
// default and puts it first in the order -auto tries; it returns that
// order and the default's title.
func listDefaultFirst(t *testing.T, f *fakeSystem, db, esp, want string) (order []string, title string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-json", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("-list: rc %d\n%s", rc, stderr.String())
	}
	var entries []entryJSON
	if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
		t.Fatal(err)
	}
	var def string
	var tried []entryJSON
	for _, e := range entries {
		if e.Default {
			def, title = e.ID, e.ShowTitle
		}
		if e.AutoOrder > 0 {
			tried = append(tried, e)
		}
	}
	sort.Slice(tried, func(i, j int) bool { return tried[i].AutoOrder < tried[j].AutoOrder })
	for _, e := range tried {
		order = append(order, e.ID)
	}
	if def != want || len(order) != 3 || order[0] != want {
		t.Fatalf("-list: default %q, -auto order %v; want %s, and first", def, order, want)
	}
	return order, title
}

// autoTriesInListOrder runs -auto and checks that it tries the entries in
// listOrder until it loads want.
func autoTriesInListOrder(t *testing.T, f *fakeSystem, db, esp string, listOrder []string, want string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	f.loads = nil
	if rc := runWith([]string{"-auto", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("-auto: rc %d\n%s", rc, stderr.String())
	}
	tried := regexp.MustCompile(`(?m)^ukiboot: (?:booting|cannot boot) ([^\s:]+)`).FindAllStringSubmatch(stderr.String(), -1)
	var autoOrder []string
	for _, m := range tried {
		if len(autoOrder) == 0 || autoOrder[len(autoOrder)-1] != m[1] {
			autoOrder = append(autoOrder, m[1])
		}
	}
	if len(autoOrder) == 0 || len(autoOrder) > len(listOrder) ||
		strings.Join(autoOrder, " ") != strings.Join(listOrder[:len(autoOrder)], " ") || autoOrder[len(autoOrder)-1] != want {
		t.Errorf("-auto tried %v, -list says %v, want it to boot %s\n%s", autoOrder, listOrder, want, stderr.String())
	}
	kernel := map[string]string{"q.efi": "KQ", "p-1.efi": "KP1", "p-3.efi": "KP3"}[want]
	if len(f.loads) != 1 || string(f.loads[0].kernel) != kernel {
		t.Errorf("-auto loaded %+v, want the kernel of %s", f.loads, want)
	}
}

// menuHighlightsDefault runs the menu and checks that its first frame
// highlights the default, and that Enter on it acts on the default: the
// plan of it, or its refusal when it is untrusted.
func menuHighlightsDefault(t *testing.T, f *fakeSystem, db, esp, def, title string) {
	t.Helper()
	rc, out, log := runMenuWith(t, f, "\r\x1b[B\r", "-dry-run", "-timeout", "menu-force", "-db", db, "-root", esp)
	if rc != 0 {
		t.Fatalf("menu: rc %d\n%s\n%s", rc, out, log)
	}
	frames := strings.SplitAfter(out, "ukiboot: boot menu")
	if len(frames) < 2 {
		t.Fatalf("menu:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^>.*` + regexp.QuoteMeta(title)).MatchString(frames[1]) {
		t.Errorf("the first menu frame does not highlight %s (%s):\n%s", def, title, frames[1])
	}
	words := strings.Join(strings.Fields(out), " ") // the menu wraps long lines
	refused := strings.Contains(words, "cannot boot "+def+":") && strings.Contains(words, "trusted: unsigned: no signature")
	planned := regexp.MustCompile(`(?m)^entry:\s+` + regexp.QuoteMeta(def) + ` `).MatchString(out)
	if def == "p-3.efi" && !refused || def != "p-3.efi" && !planned {
		t.Errorf("Enter in the menu did not act on %s (refused %v, planned %v):\n%s", def, refused, planned, out)
	}
}

// A failed remount after a successful boot-counting rename does not make
// the entry unbootable: the rename is kept, reported, and the OS is told
// the new name.
func TestRenameKeptWhenRemountFails(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os+3.efi", "os", "1", "c", "K")
	f := &fakeSystem{platform: noPlatform(t)}
	sys := f.sys()
	sys.roots = func(o *options, logf func(string, ...any)) (*partitions, error) {
		return &partitions{dirs: []string{esp}, close: func() {}, writable: func(string) (func() error, error) {
			return func() error { return errors.New("remounting /dev/vda1 read-only: device busy") }, nil
		}}, nil
	}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-verify", "off"}, &stdout, &stderr, sys); rc != 0 || len(f.loads) != 1 {
		t.Fatalf("rc %d loads %d\n%s", rc, len(f.loads), stderr.String())
	}
	if !exists2(esp, "EFI/Linux/os+2-1.efi") {
		t.Errorf("not renamed")
	}
	if !bytes.Contains(f.loads[0].initrd, []byte("\\EFI\\Linux\\os+2-1.efi\n")) {
		t.Errorf("the OS is not told the new name")
	}
	if !strings.Contains(stderr.String(), "renamed /EFI/Linux/os+3.efi to /EFI/Linux/os+2-1.efi, but making "+esp+" read-only again: remounting /dev/vda1 read-only: device busy") {
		t.Errorf("log:\n%s", stderr.String())
	}
}

// "Can the command line be edited?" is the plan's rule: under enforcement
// a UKI with .cmdline cannot take arguments, and a type #1 "uki" entry
// without options is no different.
func TestMenuEditableIsThePlansRule(t *testing.T) {
	esp, db := verifyTree(t)
	os.WriteFile(filepath.Join(esp, "loader/entries/viauki.conf"), []byte("title Via UKI\nuki /EFI/Linux/os-1.efi\n"), 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	for _, tc := range []struct {
		name, verify string
		editable     bool
	}{
		{"enforced: not editable", "enforce", false},
		{"report only: editable", "auto", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{verify: tc.verify, roots: stringList{esp}}
			if tc.verify == "enforce" {
				o.db = stringList{db}
			}
			p, err := openPipeline(o, f.sys(), io.Discard, func(string, ...any) {})
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			found := false
			for _, it := range p.menuItems() {
				if it.ID != "viauki.conf" {
					continue
				}
				found = true
				if it.Editable != tc.editable || !tc.editable && it.NotEditable != "verification is enforced and the UKI has its own .cmdline" {
					t.Errorf("editable %v (%q), want %v", it.Editable, it.NotEditable, tc.editable)
				}
			}
			if !found {
				t.Fatal("viauki.conf not in the menu")
			}
		})
	}
}

// treeHash is a digest of every file's name, mode and content under dirs.
func treeHash(t *testing.T, dirs ...string) [32]byte {
	t.Helper()
	h := sha256.New()
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			st, _ := de.Info()
			fmt.Fprintf(h, "%s %v\n", p, st.Mode())
			if de.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				h.Write(b)
			}
			return nil
		})
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// -dry-run without -auto runs the menu and prints the plan of what was
// chosen; it changes nothing: not LoaderEntryOneShot, not
// LoaderEntryDefault (the menu's d), no boot-counting rename.
func TestDryRunMenuChangesNothing(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2+3.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1+3.efi", "os", "1", "c1", "K1")
	vars := t.TempDir()
	os.WriteFile(filepath.Join(vars, bls.VarEntryOneShot+"-"+bls.LoaderVendorGUID), bls.EncodeVarString("os-1.efi"), 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	before := treeHash(t, esp, vars)
	sys := f.sys()
	sys.vars = bls.EFIVarFS{Dir: vars}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sys.stdin = r
	w.Write([]byte("d\r")) // set the default, then boot the selection
	defer w.Close()
	var stdout, stderr bytes.Buffer
	rc := runWith([]string{"-dry-run", "-timeout", "menu-force", "-verify", "off", "-root", esp}, &stdout, &stderr, sys)
	if rc != 0 || len(f.loads) != 0 || f.booted != 0 {
		t.Fatalf("rc %d loads %d booted %d\n%s\n%s", rc, len(f.loads), f.booted, stdout.String(), stderr.String())
	}
	for _, want := range []string{"ukiboot: boot menu", "dry run: LoaderEntryDefault not changed (would be os-1.efi)", "entry:    os-1.efi", "cmdline:  c1"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, want := range []string{"boot counting: would rename os-1+3.efi to os-1+2-1.efi", "dry run: LoaderEntryOneShot would be removed"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
	if after := treeHash(t, esp, vars); after != before {
		t.Errorf("-dry-run changed the ESP or the EFI variables")
	}
}
