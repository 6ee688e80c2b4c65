package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/smbios"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// oemRoot is a file system at "/" whose SMBIOS tables hold one Type 11
// structure with strs; more adds files (cpuinfo, devices).
func oemRoot(strs []string, more map[string]string) fstest.MapFS {
	raw := []byte{smbios.TypeOEMStrings, 5, 0, 0x0b, byte(len(strs))}
	for _, s := range strs {
		raw = append(raw, s...)
		raw = append(raw, 0)
	}
	raw = append(raw, 0)
	if len(strs) == 0 {
		raw = append(raw, 0)
	}
	fsys := fstest.MapFS{smbios.EntriesDir + "/11-0/raw": {Data: raw}}
	for name, data := range more {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

var allKeys = []string{
	smbios.KeyStubCmdlineExtra + "stub.extra=1",
	smbios.KeyBootCmdlineExtra + "boot.extra=1",
	smbios.KeyBootEntriesExtra + "vm.conf=title VM\nlinux /vmlinuz\n",
	smbios.KeyBootTimeout + "5",
}

// TestReadSMBIOSPolicy: -smbios on applies the strings even under
// enforcement (systemd applies them under Secure Boot too), off never,
// auto unless verification is enforced.
func TestReadSMBIOSPolicy(t *testing.T) {
	applied := smbiosState{
		extra:   stub.SMBIOSExtra{Stub: "stub.extra=1", Boot: "boot.extra=1"},
		entries: []bls.ExtraEntry{{Name: "vm.conf", Content: []byte("title VM\nlinux /vmlinuz\n")}},
	}
	for _, c := range []struct {
		flag  string
		mode  stub.VerifyMode
		apply bool
		why   string
	}{
		{"on", stub.VerifyEnforce, true, "-smbios on"},
		{"on", stub.VerifyOff, true, "-smbios on"},
		{"off", stub.VerifyOff, false, "-smbios off"},
		{"off", stub.VerifyEnforce, false, "-smbios off"},
		{"auto", stub.VerifyOff, true, "-smbios auto: verification is not enforced"},
		{"auto", stub.VerifyEnforce, false, "-smbios auto: verification is enforced"},
	} {
		t.Run(fmt.Sprintf("%s with verification %s", c.flag, c.mode), func(t *testing.T) {
			st := readSMBIOS(c.flag, c.mode, oemRoot(allKeys, nil))
			want := smbiosState{}
			if c.apply {
				want = applied
			}
			if !reflect.DeepEqual(st.extra, want.extra) || !reflect.DeepEqual(st.entries, want.entries) {
				t.Errorf("applied %+v %q, want %+v %q", st.extra, st.entries, want.extra, want.entries)
			}
			notes := strings.Join(st.notes, "\n")
			if !strings.Contains(notes, c.why) {
				t.Errorf("notes do not say %q:\n%s", c.why, notes)
			}
			for _, key := range []string{smbios.KeyStubCmdlineExtra, smbios.KeyBootCmdlineExtra, smbios.KeyBootEntriesExtra + "vm.conf"} {
				if !strings.Contains(notes, key) {
					t.Errorf("notes do not name %s:\n%s", key, notes)
				}
			}
			if c.apply && !strings.Contains(notes, `io.systemd.boot.timeout="5" ignored: systemd reads it from v260 on`) {
				t.Errorf("notes do not say why the timeout is ignored:\n%s", notes)
			}
		})
	}
}

func TestReadSMBIOSSources(t *testing.T) {
	t.Run("no source", func(t *testing.T) {
		if st := readSMBIOS("on", stub.VerifyOff, nil); !reflect.DeepEqual(st, smbiosState{}) {
			t.Errorf("%+v", st)
		}
	})
	t.Run("no dmi-sysfs", func(t *testing.T) {
		st := readSMBIOS("on", stub.VerifyOff, fstest.MapFS{})
		if st.extra != (stub.SMBIOSExtra{}) || len(st.notes) != 1 || !strings.Contains(st.notes[0], "dmi-sysfs") {
			t.Errorf("%+v", st)
		}
	})
	t.Run("hostile table is ignored, naming the file", func(t *testing.T) {
		root := fstest.MapFS{smbios.EntriesDir + "/11-0/raw": {Data: []byte{11, 5, 0, 0, 1, 'x'}}}
		st := readSMBIOS("on", stub.VerifyOff, root)
		if st.extra != (stub.SMBIOSExtra{}) || len(st.notes) != 1 || !strings.Contains(st.notes[0], "ignored: /sys/firmware/dmi/entries/11-0/raw: truncated") {
			t.Errorf("%+v", st)
		}
	})
	t.Run("no io.systemd strings, nothing said", func(t *testing.T) {
		st := readSMBIOS("on", stub.VerifyOff, oemRoot([]string{"vendor=x"}, nil))
		if !reflect.DeepEqual(st, smbiosState{}) {
			t.Errorf("%+v", st)
		}
	})
}

// TestConfidentialVM: systemd skips the strings in a confidential VM
// (stub.c: cmdline_append_and_measure_smbios, boot.c:
// config_load_smbios_entries and call_image_start).
func TestConfidentialVM(t *testing.T) {
	const amdHost = "processor\t: 0\nflags\t\t: fpu sme sev sev_es\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"plain VM", map[string]string{"proc/cpuinfo": "processor\t: 0\nflags\t\t: fpu hypervisor\n"}, ""},
		{"SEV host, bare metal", map[string]string{"proc/cpuinfo": amdHost}, ""},
		{"TDX guest", map[string]string{"proc/cpuinfo": "flags\t\t: fpu hypervisor tdx_guest\n"}, "flag tdx_guest in /proc/cpuinfo"},
		{"SEV-ES guest", map[string]string{"proc/cpuinfo": "flags\t\t: fpu sev sev_es hypervisor\n"}, "flags hypervisor and sev_es in /proc/cpuinfo"},
		{"only the first flags line", map[string]string{"proc/cpuinfo": "flags: fpu\n\nflags: tdx_guest\n"}, ""},
		{"SEV-SNP guest device", map[string]string{"dev/sev-guest": ""}, "/dev/sev-guest exists"},
		{"TDX guest device", map[string]string{"dev/tdx_guest": ""}, "/dev/tdx_guest exists"},
		{"arm64 CCA realm", map[string]string{"sys/devices/platform/arm-cca-dev/uevent": ""}, "/sys/devices/platform/arm-cca-dev exists"},
		{"s390x protected guest", map[string]string{"sys/firmware/uv/prot_virt_guest": "1\n"}, "/sys/firmware/uv/prot_virt_guest is 1"},
		{"s390x unprotected guest", map[string]string{"sys/firmware/uv/prot_virt_guest": "0\n"}, ""},
		{"huge cpuinfo line", map[string]string{"proc/cpuinfo": strings.Repeat("x", 1<<17) + "\nflags: tdx_guest\n"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, d := range c.files {
				fsys[n] = &fstest.MapFile{Data: []byte(d)}
			}
			if got := confidentialVM(fsys); got != c.want {
				t.Errorf("confidentialVM = %q, want %q", got, c.want)
			}
			st := readSMBIOS("on", stub.VerifyOff, oemRoot(allKeys, c.files))
			if applied := st.extra != (stub.SMBIOSExtra{}) || st.entries != nil; applied != (c.want == "") {
				t.Errorf("applied %v in %q: %+v", applied, c.want, st)
			}
			if c.want != "" && !strings.Contains(strings.Join(st.notes, "\n"), "ignored: confidential VM ("+c.want+")") {
				t.Errorf("notes do not say why:\n%s", strings.Join(st.notes, "\n"))
			}
		})
	}
}

// TestSMBIOSPipeline: the pipeline hands the strings to pkg/stub
// (Policy.SMBIOS) and pkg/bls (Options.Extra), and -v says so.
func TestSMBIOSPipeline(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	for _, c := range []struct {
		name    string
		flag    string
		verbose bool
		want    stub.SMBIOSExtra
		entry   int
		log     string
	}{
		{"auto applies without enforcement", "auto", true, stub.SMBIOSExtra{Stub: "stub.extra=1", Boot: "boot.extra=1"}, 1, "smbios: io.systemd.stub.kernel-cmdline-extra=\"stub.extra=1\" applied"},
		{"off", "off", true, stub.SMBIOSExtra{}, 0, "smbios: io.systemd.stub.kernel-cmdline-extra=\"stub.extra=1\" ignored (-smbios off)"},
		{"quiet without -v", "auto", false, stub.SMBIOSExtra{Stub: "stub.extra=1", Boot: "boot.extra=1"}, 1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{}
			sys := f.sys(esp)
			sys.smbios = oemRoot(allKeys, nil)
			o := &options{smbios: c.flag, verbose: c.verbose}
			var stderr bytes.Buffer
			logf := func(format string, args ...any) { fmt.Fprintf(&stderr, "ukiboot: "+format+"\n", args...) }
			p, err := openPipeline(o, sys, &bytes.Buffer{}, logf)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			if len(p.smbios.entries) != c.entry {
				t.Errorf("bls extra entries %q, want %d", p.smbios.entries, c.entry)
			}
			var e *bls.Entry
			for _, x := range p.config.Entries {
				if x.ID == "os-1.efi" {
					e = x
				}
			}
			if e == nil {
				t.Fatalf("no os-1.efi in %v", p.config.Entries)
			}
			bp, err := p.plan(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer bp.close()
			if bp.policy.SMBIOS != c.want {
				t.Errorf("Policy.SMBIOS = %+v, want %+v", bp.policy.SMBIOS, c.want)
			}
			log := stderr.String()
			if c.log == "" && strings.Contains(log, "smbios:") || c.log != "" && !strings.Contains(log, c.log) {
				t.Errorf("log %q, want %q", log, c.log)
			}
		})
	}
}

func TestSMBIOSFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	f := &fakeSystem{}
	if rc := runWith([]string{"-list", "-smbios", "yes", "-root", t.TempDir()}, &stdout, &stderr, f.sys()); rc != 2 || !strings.Contains(stderr.String(), `-smbios "yes": use on, off or auto`) {
		t.Errorf("rc %d, stderr %q", rc, stderr.String())
	}
}

// TestSMBIOSEntryBoots: an io.systemd.boot.entries-extra entry is listed
// and boots with io.systemd.boot.kernel-cmdline-extra after its options
// (boot.c: config_load_smbios_entries, call_image_start); the stub's
// string is for UKIs only. With -smbios off the entry does not exist.
func TestSMBIOSEntryBoots(t *testing.T) {
	esp := t.TempDir()
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	if err := os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("KVM"), 0o644); err != nil {
		t.Fatal(err)
	}
	strs := []string{
		smbios.KeyBootEntriesExtra + "VM.conf=title From the host\nlinux /vmlinuz\noptions root=/dev/vda\n",
		smbios.KeyBootCmdlineExtra + "boot.extra=1",
		smbios.KeyStubCmdlineExtra + "stub.extra=1",
	}
	for _, c := range []struct {
		name    string
		args    []string
		rc      int
		cmdline string
	}{
		{"auto", nil, 0, "root=/dev/vda boot.extra=1"},
		{"off", []string{"-smbios", "off"}, 1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{}
			sys := f.sys(esp)
			sys.smbios = oemRoot(strs, nil)
			var stdout, stderr bytes.Buffer
			rc := runWith(append([]string{"-list", "-root", esp}, c.args...), &stdout, &stderr, sys)
			if listed := strings.Contains(stdout.String(), "vm.conf"); rc != 0 || listed != (c.rc == 0) {
				t.Errorf("-list: rc %d, vm.conf listed %v:\n%s%s", rc, listed, stdout.String(), stderr.String())
			}
			stdout.Reset()
			stderr.Reset()
			rc = runWith(append([]string{"-auto", "-entry", "vm.conf", "-root", esp}, c.args...), &stdout, &stderr, sys)
			if rc != c.rc {
				t.Fatalf("-auto: rc %d, want %d\n%s", rc, c.rc, stderr.String())
			}
			if c.rc != 0 {
				return
			}
			if len(f.loads) != 1 || string(f.loads[0].kernel) != "KVM" || f.loads[0].cmdline != c.cmdline {
				t.Errorf("loads %+v, want KVM with %q", f.loads, c.cmdline)
			}
		})
	}
}
