// Package conform pins the systemd release whose systemd-boot and
// systemd-stub ukiboot follows, and keeps, in one table, the rules that
// changed between systemd releases.
//
// ukiboot stands in for systemd-boot and systemd-stub together. Where the
// two disagree across releases (a key that appeared, a variable that is now
// deleted, an entry kind that stopped being counted), the code asks
// Follows(rule) instead of hard-coding the behaviour of one release.
// Following a new release is then: read the release's changes, add one row
// per changed rule below (with the systemd function it comes from), and
// raise Release.
//
// PCR 11 is the exception: it follows the stub inside each UKI, not this
// release (see pkg/stub).
package conform

import "fmt"

// Release is the systemd release ukiboot follows.
const Release = 259

// Rule is one behaviour that changed between systemd releases.
type Rule int

// The rules. Each has exactly one row in Changes.
const (
	// UKIWithoutCmdline: a UKI without .cmdline is listed and booted.
	UKIWithoutCmdline Rule = iota
	// EFIEntriesNotCounted: type #1 "efi" entries carry no boot counter.
	EFIEntriesNotCounted
	// SMBIOSEntriesExtra: io.systemd.boot.entries-extra:NAME.conf= adds
	// type #1 entries.
	SMBIOSEntriesExtra
	// SMBIOSBootTimeout: io.systemd.boot.timeout= sets the menu timeout.
	SMBIOSBootTimeout
	// ConsoleAppend: a command line without console= gets the console the
	// boot loader runs on (unmeasured).
	ConsoleAppend

	numRules
)

// Change is one row of the table: from Since on, systemd behaves as Rule
// says; Where names the systemd function (or spec) it was read from.
type Change struct {
	Since int
	Rule  Rule
	Name  string
	Where string
	// Early is set when ukiboot adopts the rule before Release reaches
	// Since, and says why.
	Early string
}

// Changes is the table, oldest release first.
func Changes() []Change {
	return []Change{
		{Since: 258, Rule: UKIWithoutCmdline, Name: "a UKI without .cmdline is bootable", Where: "src/boot/stub.c: cmdline_append_and_measure_addons/parse_profile"},
		{Since: 258, Rule: EFIEntriesNotCounted, Name: "efi entries are not boot-counted", Where: "src/boot/boot.c: boot_entry_add_type1"},
		{Since: 258, Rule: SMBIOSEntriesExtra, Name: "SMBIOS io.systemd.boot.entries-extra: adds type #1 entries", Where: "src/boot/boot.c: config_load_smbios_entries"},
		{Since: 260, Rule: SMBIOSBootTimeout, Name: "SMBIOS io.systemd.boot.timeout= sets the menu timeout", Where: "src/boot/boot.c: config_load_defaults"},
		{Since: 261, Rule: ConsoleAppend, Name: "console= of the boot loader's console is appended when the command line has none", Where: "src/boot/stub.c (development branch after v260)",
			Early: "a distribution UKI must not go dark on a serial-only server; -console off disables it"},
	}
}

// Follows reports whether ukiboot applies rule: systemd Release has it, or
// ukiboot adopted it early.
func Follows(r Rule) bool { return FollowsAt(r, Release) }

// FollowsAt is Follows for another release (tests, and reading the table).
func FollowsAt(r Rule, release int) bool {
	for _, c := range Changes() {
		if c.Rule == r {
			return c.Since <= release || c.Early != ""
		}
	}
	panic(fmt.Sprintf("conform: rule %d has no row in Changes", r))
}
