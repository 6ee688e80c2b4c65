package stub

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// PCR 11 follows the stub inside the UKI: a UKI's .pcrsig (ukify,
// systemd-measure) was computed for what its own stub measures, and
// systemd-stub measures every section of its unified_sections table
// except .pcrsig (src/fundamental/uki.h unified_section_measure; before
// 255 the table was in src/boot/efi/stub.c). The table grew with the
// releases; each row lists the sections the stubs from that release on
// measure, in pcr11Order.
type pcr11Row struct {
	since    int      // first systemd release of the row
	sections []string // measured, in pcr11Order
	source   string   // where systemd says so
}

var pcr11Rows = []pcr11Row{
	{252, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionSplash, uki.SectionDTB, uki.SectionPCRPKey},
		"v252, v253: src/fundamental/tpm-pcr.c unified_sections .linux .osrel .cmdline .initrd .splash .dtb .pcrsig .pcrpkey"},
	{254, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey},
		"v254: tpm-pcr.c adds .uname .sbat after .dtb (NEWS 254: \"systemd-measure and systemd-stub now look for the .uname PE section\")"},
	{256, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey},
		"v256: src/fundamental/uki.c adds .ucode after .initrd (NEWS 256: \"sd-stub gained support for the new .ucode PE section\")"},
	{257, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey, uki.SectionProfile, uki.SectionDTBAuto, uki.SectionHWIDs},
		"v257: uki.c adds .profile .dtbauto .hwids (absent from v256's table; v258's release notes: \"DeviceTree selection already available since v257\"; ukify's Profile= and DeviceTreeAuto=: \"Added in version 257\")"},
	{258, []string{uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode, uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey, uki.SectionProfile, uki.SectionDTBAuto, uki.SectionHWIDs, uki.SectionEFIFW},
		"v258: uki.c adds .efifw (v258's release notes: \"UEFI firmware images may now be embedded in UKIs (in an .efifw PE section)\"); unchanged in v259"},
}

// PCR11Rule says which sections a UKI's stub measures into PCR 11.
type PCR11Rule struct {
	// Release is the systemd release of the row used.
	Release int
	// Sections are measured when present, in systemd's order.
	Sections []string
	// Why says which row was chosen and why, for -dry-run and -inspect.
	Why string
	// Source says where systemd's history shows the row.
	Source string
}

// String is the rule as -dry-run and -inspect print it.
func (r PCR11Rule) String() string {
	return fmt.Sprintf("systemd-stub %d rules (%s): %s", r.Release, r.Why, strings.Join(r.Sections, " "))
}

// measures says whether the rule measures section name.
func (r PCR11Rule) measures(name string) bool {
	for _, s := range r.Sections {
		if s == name {
			return true
		}
	}
	return false
}

// PCR11RuleFor picks the row for a stub as uki.File.StubVersion reports
// it ("systemd-stub 252.39-1~deb12u2"): the newest row not newer than its
// release; the newest row when the version is unknown, unparseable or
// newer than every row; the oldest row for an older stub.
func PCR11RuleFor(stubVersion string) PCR11Rule {
	newest := pcr11Rows[len(pcr11Rows)-1]
	rule := func(r pcr11Row, why string) PCR11Rule {
		return PCR11Rule{Release: r.since, Sections: r.sections, Why: why, Source: r.source}
	}
	if stubVersion == "" {
		return rule(newest, "no .sdmagic: stub version unknown, newest rules")
	}
	release, ok := stubRelease(stubVersion)
	if !ok {
		return rule(newest, fmt.Sprintf(".sdmagic says %q: not a systemd-stub release, newest rules", stubVersion))
	}
	if release < pcr11Rows[0].since {
		return rule(pcr11Rows[0], fmt.Sprintf(".sdmagic says %s: older than any known row, oldest rules", stubVersion))
	}
	chosen := pcr11Rows[0]
	for _, r := range pcr11Rows {
		if r.since <= release {
			chosen = r
		}
	}
	if release > newest.since {
		return rule(chosen, fmt.Sprintf(".sdmagic says %s: newer than every row, newest rules", stubVersion))
	}
	return rule(chosen, fmt.Sprintf(".sdmagic says %s", stubVersion))
}

// stubRelease reads the systemd release from "systemd-stub 252.39-1~deb12u2"
// (or "systemd-stub 257", "systemd-stub 258~rc1").
func stubRelease(v string) (int, bool) {
	rest, ok := strings.CutPrefix(v, "systemd-stub ")
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil || end > 6 {
		return 0, false
	}
	return n, true
}
