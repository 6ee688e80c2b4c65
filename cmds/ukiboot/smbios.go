package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/conform"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/smbios"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// SMBIOS Type 11 OEM strings (-smbios): whoever writes the SMBIOS tables
// (the ROM on coreboot, the host for a virtual machine) can extend the
// command line of a signed UKI with io.systemd.stub.kernel-cmdline-extra=,
// that of type #1 linux entries with io.systemd.boot.kernel-cmdline-extra=
// and add type #1 entries with io.systemd.boot.entries-extra:. systemd
// applies them under Secure Boot too; ukiboot makes it a ROM policy:
// "auto" applies them unless verification is enforced.

// smbiosState is what the OEM strings contribute to this run.
type smbiosState struct {
	extra   stub.SMBIOSExtra
	entries []bls.ExtraEntry
	// notes say what was applied or ignored, and why (-v, -dry-run).
	notes []string
}

// smbiosEnabled resolves -smbios against the verification mode, and says
// why.
func smbiosEnabled(flag string, mode stub.VerifyMode) (bool, string) {
	switch flag {
	case "on":
		return true, "-smbios on"
	case "off":
		return false, "-smbios off"
	}
	if mode == stub.VerifyEnforce {
		return false, "-smbios auto: verification is enforced, and whoever writes the SMBIOS tables could extend the command line of a signed UKI; -smbios on applies them"
	}
	return true, "-smbios auto: verification is not enforced"
}

// readSMBIOS reads the OEM strings from root (the file system at "/"; nil:
// none, as in most tests) and applies the -smbios policy.
func readSMBIOS(flag string, mode stub.VerifyMode, root fs.FS) smbiosState {
	var st smbiosState
	if root == nil {
		return st
	}
	oem, err := smbios.ReadOEM(root)
	if err != nil {
		if errors.Is(err, smbios.ErrNoEntries) {
			st.notes = append(st.notes, fmt.Sprintf("no SMBIOS OEM strings: %v", err))
		} else {
			st.notes = append(st.notes, fmt.Sprintf("SMBIOS OEM strings ignored: %v", err))
		}
		return st
	}
	found := oemFound(oem)
	st.notes = append(st.notes, oem.Skipped...)
	if len(found) == 0 {
		return st
	}
	on, why := smbiosEnabled(flag, mode)
	if !on {
		for _, f := range found {
			st.notes = append(st.notes, fmt.Sprintf("%s ignored (%s)", f, why))
		}
		return st
	}
	// src/boot/stub.c: cmdline_append_and_measure_smbios, src/boot/boot.c:
	// call_image_start and config_load_smbios_entries skip the strings in
	// a confidential VM, whose host is not trusted.
	if cvm := confidentialVM(root); cvm != "" {
		for _, f := range found {
			st.notes = append(st.notes, fmt.Sprintf("%s ignored: confidential VM (%s), whose host is not trusted, as systemd does", f, cvm))
		}
		return st
	}
	st.apply(oem, why)
	return st
}

// oemFound names the strings of oem ukiboot acts on, for the notes.
func oemFound(oem smbios.OEM) []string {
	var found []string
	if oem.StubCmdlineExtra.Set {
		found = append(found, fmt.Sprintf("%s%q", smbios.KeyStubCmdlineExtra, oem.StubCmdlineExtra.Text))
	}
	if oem.BootCmdlineExtra.Set {
		found = append(found, fmt.Sprintf("%s%q", smbios.KeyBootCmdlineExtra, oem.BootCmdlineExtra.Text))
	}
	for _, e := range oem.EntriesExtra {
		found = append(found, fmt.Sprintf("%s%s", smbios.KeyBootEntriesExtra, e.Name))
	}
	return found
}

// apply takes the strings of oem into st (the policy allows them).
func (st *smbiosState) apply(oem smbios.OEM, why string) {
	from := fmt.Sprintf("from %s; %s", oem.Path, why)
	if v := oem.StubCmdlineExtra; v.Set && st.follows(conform.SMBIOSStubCmdlineExtra, smbios.KeyStubCmdlineExtra) {
		st.extra.Stub = v.Text
		st.notes = append(st.notes, fmt.Sprintf("%s%q applied to UKIs after their addons, measured into PCR 12 (%s)", smbios.KeyStubCmdlineExtra, v.Text, from))
	}
	if v := oem.BootCmdlineExtra; v.Set && st.follows(conform.SMBIOSBootCmdlineExtra, smbios.KeyBootCmdlineExtra) {
		st.extra.Boot = v.Text
		st.notes = append(st.notes, fmt.Sprintf("%s%q applied to type #1 linux entries, measured into PCR 12 with their options (%s)", smbios.KeyBootCmdlineExtra, v.Text, from))
	}
	for _, e := range oem.EntriesExtra {
		if !st.follows(conform.SMBIOSEntriesExtra, smbios.KeyBootEntriesExtra+e.Name) {
			continue
		}
		st.entries = append(st.entries, bls.ExtraEntry{Name: e.Name, Content: []byte(e.Content)})
		st.notes = append(st.notes, fmt.Sprintf("%s%s adds a type #1 entry (%s)", smbios.KeyBootEntriesExtra, e.Name, from))
	}
	if v := oem.Timeout; v.Set && !conform.Follows(conform.SMBIOSBootTimeout) {
		st.notes = append(st.notes, fmt.Sprintf("%s%q ignored: systemd reads it from v260 on, ukiboot follows v%d", smbios.KeyBootTimeout, v.Text, conform.Release))
	}
}

// follows reports whether the systemd release ukiboot follows reads the
// OEM string key; if not, it says so in the notes.
func (st *smbiosState) follows(r conform.Rule, key string) bool {
	if conform.Follows(r) {
		return true
	}
	st.notes = append(st.notes, fmt.Sprintf("%s ignored: systemd v%d, which ukiboot follows, does not read it", key, conform.Release))
	return false
}

// loadSMBIOS reads the OEM strings for the pipeline and, with -v or
// -dry-run, says what is applied or ignored and why.
func (p *pipeline) loadSMBIOS() {
	p.smbios = readSMBIOS(p.o.smbios, p.verify.Mode, p.sys.smbios)
	if p.o.verbose || p.o.dryRun {
		for _, n := range p.smbios.notes {
			p.logf("smbios: %s", n)
		}
	}
}

// logSMBIOSMeasurement says, with -v or -dry-run, which PCR 12 event of
// the plan carries io.systemd.stub.kernel-cmdline-extra.
func (p *pipeline) logSMBIOSMeasurement(sp *stub.Plan) {
	if p.smbios.extra.Stub == "" || !(p.o.verbose || p.o.dryRun) {
		return
	}
	want := uki.MangleCmdline(p.smbios.extra.Stub)
	for _, m := range sp.Events {
		if m.PCR == stub.PCRKernelConfig && m.Description == want {
			p.logf("smbios: PCR %d event %x: %s%q", m.PCR, m.Digests[measure.SHA256], smbios.KeyStubCmdlineExtra, want)
		}
	}
}

// Signs of a confidential VM, as Linux shows them. systemd asks the CPU
// (src/boot/vmm.c: is_confidential_vm; src/basic/confidential-virt.c:
// CPUID leaves 0x21 and 0x8000001f with MSR_AMD64_SEV, the Hyper-V
// isolation leaves, s390x and arm64 files); ukiboot reads what the kernel
// made of the same: the flags tdx_guest, or sev, sev_es, sev_snp on a CPU
// that has the hypervisor flag, in /proc/cpuinfo; the TDX and SEV guest
// devices; s390x protected virtualization; the arm64 CCA realm device.
// Hyper-V isolated VMs are not recognised (the kernel shows nothing
// userspace can read): use -smbios off there.
const (
	cpuinfoPath       = "proc/cpuinfo"
	protVirtGuestPath = "sys/firmware/uv/prot_virt_guest"
	// maxCPUInfo bounds what is read of /proc/cpuinfo looking for the
	// first flags line.
	maxCPUInfo = 1 << 20
)

// confidentialVM returns what shows that this machine is a confidential
// VM, or "".
func confidentialVM(root fs.FS) string {
	for _, name := range []string{
		"dev/tdx_guest",                    // TDX guest driver
		"dev/sev-guest",                    // SEV-SNP guest driver
		"sys/devices/platform/arm-cca-dev", // arm64 CCA realm, as systemd checks
	} {
		if _, err := fs.Stat(root, name); err == nil {
			return "/" + name + " exists"
		}
	}
	if b, err := fs.ReadFile(root, protVirtGuestPath); err == nil && strings.HasPrefix(string(b), "1") {
		return "/" + protVirtGuestPath + " is 1"
	}
	return cpuinfoCVM(root)
}

// cpuinfoCVM looks at the first flags line of /proc/cpuinfo.
func cpuinfoCVM(root fs.FS) string {
	f, err := root.Open(cpuinfoPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, maxCPUInfo))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		flags := map[string]bool{}
		for _, fl := range strings.Fields(val) {
			flags[fl] = true
		}
		if flags["tdx_guest"] {
			return "flag tdx_guest in /proc/cpuinfo"
		}
		if flags["hypervisor"] {
			for _, fl := range []string{"sev_snp", "sev_es", "sev"} {
				if flags[fl] {
					return "flags hypervisor and " + fl + " in /proc/cpuinfo"
				}
			}
		}
		return ""
	}
	return ""
}
