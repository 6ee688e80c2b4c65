package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/kexec"
	"golang.org/x/sys/unix"
)

type loaded struct {
	kernel, initrd []byte
	cmdline        string
}

// fakeSystem records what would be loaded; load fails for the kernels
// listed in refuse.
type fakeSystem struct {
	loads    []loaded
	refuse   map[string]error
	booted   int
	platform platform
	term     string // TERM
	// vars are the boot loader's EFI variables (nil: none).
	vars bls.Vars
	// powered are the reboot(2) commands the menu's b and o issued.
	powered []int
}

func (f *fakeSystem) sys(roots ...string) system {
	return system{
		roots: func(o *options, logf func(string, ...any)) (*partitions, error) {
			if len(o.roots) == 0 {
				o.roots = roots
			}
			return scanDisks(o, logf)
		},
		load: func(k, i *os.File, cmdline string) error {
			kb, _ := io.ReadAll(k)
			var ib []byte
			if i != nil {
				ib, _ = io.ReadAll(i)
			}
			f.loads = append(f.loads, loaded{kb, ib, cmdline})
			return f.refuse[string(kb)]
		},
		reboot:   func() error { f.booted++; return nil },
		power:    func(cmd int) error { f.powered = append(f.powered, cmd); return nil },
		vars:     f.vars,
		platform: f.platform,
		term:     f.term,
	}
}

func ukiFile(t *testing.T, esp, name, id, version, cmdline, kernel string) {
	t.Helper()
	p := filepath.Join(esp, "EFI/Linux", name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	img := ukitest.UKI(ukitest.S(".osrel", "ID="+id+"\nVERSION_ID="+version+"\n"), ukitest.S(".cmdline", cmdline), ukitest.S(".linux", kernel), ukitest.S(".initrd", "INITRD-"+kernel))
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAutoFallsBack(t *testing.T) {
	esp := t.TempDir()
	// Order by version: v4 (corrupt), v3 (kernel refused), v2 (boots), v1.
	ukiFile(t, esp, "os-4.efi", "os", "4", "c4", "K4")
	// A PE without .linux: systemd-boot lists it (a file that is no PE at
	// all it does not), ukiboot cannot boot it.
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-4.efi"), ukitest.UKI(ukitest.S(".osrel", "ID=os\nVERSION_ID=4\n")), 0o644)
	ukiFile(t, esp, "os-3.efi", "os", "3", "c3", "K3")
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	f := &fakeSystem{refuse: map[string]error{"K3": &kexec.Error{Errno: unix.ENOKEY, InnerSignature: true}}}
	var stdout, stderr bytes.Buffer
	rc := runWith([]string{"-auto", "-root", esp}, &stdout, &stderr, f.sys())
	if rc != 0 || f.booted != 1 {
		t.Fatalf("rc %d booted %d\n%s", rc, f.booted, stderr.String())
	}
	if len(f.loads) != 2 || string(f.loads[0].kernel) != "K3" || string(f.loads[1].kernel) != "K2" {
		t.Fatalf("loads %+v", f.loads)
	}
	l := f.loads[1]
	if l.cmdline != "c2" || !bytes.HasPrefix(l.initrd, []byte("INITRD-K2\x00\x00\x00070701")) || !bytes.Contains(l.initrd, []byte(".extra/os-release\x00ID=os\n")) {
		t.Errorf("loaded %q %q", l.cmdline, l.initrd)
	}
	log := stderr.String()
	for _, want := range []string{"cannot boot os-4.efi", "no .linux section", "cannot load os-3.efi", "ENOKEY", "keyrings do not trust the kernel inside it", "loaded os-2.efi"} {
		if !strings.Contains(log, want) && !strings.Contains(log, strings.ToLower(want)) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestAutoNothingBoots(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "a.efi", "a", "1", "c", "KA")
	f := &fakeSystem{refuse: map[string]error{"KA": &kexec.Error{Errno: unix.EPERM}}}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-auto", "-root", esp}, &stdout, &stderr, f.sys()); rc == 0 || f.booted != 0 {
		t.Errorf("rc %d booted %d", rc, f.booted)
	}
	if !strings.Contains(stderr.String(), "locked down") || !strings.Contains(stderr.String(), "nothing could be booted") {
		t.Errorf("log:\n%s", stderr.String())
	}
	empty := t.TempDir()
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-root", empty}, &stdout, &stderr, f.sys()); rc != 1 || !strings.Contains(stderr.String(), "no bootable entry") {
		t.Errorf("empty: rc %d %s", rc, stderr.String())
	}
}

func TestDryRunAndExtract(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "a.efi", "a", "1", "console=ttyS0", "KA")
	ukiFile(t, esp, "b.efi", "b", "1", "quiet", "KB")
	out := t.TempDir()
	f := &fakeSystem{}
	var stdout, stderr bytes.Buffer
	rc := runWith([]string{"-auto", "-dry-run", "-json", "-entry", "B*", "-append", "x=1", "-extract", out, "-root", esp}, &stdout, &stderr, f.sys())
	if rc != 0 || len(f.loads) != 0 || f.booted != 0 {
		t.Fatalf("rc %d loads %d booted %d: %s", rc, len(f.loads), f.booted, stderr.String())
	}
	var plan map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		t.Fatal(err)
	}
	if plan["entry"] != "b.efi" || plan["cmdline"] != "quiet x=1" {
		t.Errorf("plan %v", plan)
	}
	for _, k := range []string{"kernel", "initrd", "verification", "measurements"} {
		if plan[k] == nil {
			t.Errorf("plan lacks %s", k)
		}
	}
	ms := plan["measurements"].([]any)
	// ukiboot's policy goes first into PCR 7; then the UKI's sections.
	if p7 := ms[0].(map[string]any); p7["pcr"] != 7.0 || p7["description"] != "ukiboot policy" {
		t.Errorf("first measurement %v, want the policy into PCR 7", p7)
	}
	i := slices.IndexFunc(ms, func(m any) bool { return m.(map[string]any)["pcr"] == 11.0 })
	if i < 0 {
		t.Fatalf("no PCR 11 measurement in %v", ms)
	}
	first := ms[i].(map[string]any)
	if first["pcr"] != 11.0 || first["description"] != ".linux" || len(first["sha256"].(string)) != 64 || first["type"] != "EV_IPL" ||
		first["event_data"] != "2e006c0069006e00750078000000" || first["digests"].(map[string]any)["sha256"] != first["sha256"] {
		t.Errorf("first measurement %v", first)
	}
	// No .sdmagic: the newest stub's rules; PCRs 7, 11, 12, 13 predicted.
	if r, _ := plan["pcr11_rule"].(string); !strings.HasPrefix(r, "systemd-stub 258 rules (no .sdmagic") {
		t.Errorf("pcr11_rule %q", r)
	}
	pred, _ := plan["predicted_pcrs"].(map[string]any)
	for _, pcr := range []string{"7", "11", "12", "13"} {
		if v, _ := pred[pcr].(map[string]any); v == nil || len(v["sha256"].(string)) != 64 {
			t.Errorf("predicted PCR %s: %v", pcr, pred[pcr])
		}
	}
	for name, want := range map[string]string{"kernel": "KB", "cmdline": "quiet x=1"} {
		b, _ := os.ReadFile(filepath.Join(out, name))
		if string(b) != want {
			t.Errorf("%s = %q", name, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "initrd")); !strings.HasPrefix(string(b), "INITRD-KB") {
		t.Errorf("initrd %q", b)
	}
	stderr.Reset()
	if rc := runWith([]string{"-extract", out, "-root", esp}, &stdout, &stderr, f.sys()); rc != 2 {
		t.Errorf("-extract without -dry-run: rc %d", rc)
	}
	stdout.Reset()
	if rc := runWith([]string{"-auto", "-dry-run", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || !strings.Contains(stdout.String(), "cmdline:  console=ttyS0") ||
		!strings.Contains(stdout.String(), "\npcr 11:   systemd-stub 258 rules (no .sdmagic") || !strings.Contains(stdout.String(), "\npredicted PCRs (from reset):\n  PCR 7  sha256 ") {
		t.Errorf("text plan: rc %d\n%s", rc, stdout.String())
	}
}
