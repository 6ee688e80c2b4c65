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
// PCR 11 is the exception: it is to follow the stub inside each UKI, not
// this release.
package conform

import "fmt"

// Release is the systemd release ukiboot follows.
const Release = 259

// Rule is one behaviour that changed between systemd releases.
type Rule int

// The rules. Each has exactly one row in Changes.
const (
	// UKIWithoutCmdline: a UKI (or profile) without .cmdline is listed
	// and booted.
	UKIWithoutCmdline Rule = iota
	// EFIEntriesNotCounted: type #1 "efi" entries carry no boot counter.
	EFIEntriesNotCounted
	// SMBIOSStubCmdlineExtra: io.systemd.stub.kernel-cmdline-extra=
	// extends a UKI's command line.
	SMBIOSStubCmdlineExtra
	// SMBIOSBootCmdlineExtra: io.systemd.boot.kernel-cmdline-extra=
	// extends type #1 linux entries' command lines.
	SMBIOSBootCmdlineExtra
	// SMBIOSEntriesExtra: io.systemd.boot.entries-extra:NAME.conf= adds
	// type #1 entries.
	SMBIOSEntriesExtra
	// SMBIOSBootTimeout: io.systemd.boot.timeout= sets the menu timeout.
	SMBIOSBootTimeout
	// Type1UKIKeys: type #1 entries take "uki" and "uki-url".
	Type1UKIKeys
	// EntryIDWithoutCounter: entry ids leave out the boot counter; a
	// counted type #2 file's id keeps its case.
	EntryIDWithoutCounter
	// ProfileIDAsWritten: a UKI profile's entry id keeps the profile ID
	// as written.
	ProfileIDAsWritten
	// StubArgumentsControlChars: the stub ignores load options with a
	// control character anywhere before the NUL (before: only the first
	// character was checked).
	StubArgumentsControlChars
	// ConsoleAppend: a command line without console= gets the console the
	// boot loader runs on (unmeasured).
	ConsoleAppend
	// CounterWidthKept: the boot-counting rename keeps both counters'
	// digit widths (+10 becomes +09-1).
	CounterWidthKept

	numRules
)

// Change is one row of the table: from systemd release Since on, systemd
// behaves as Rule says; Where names the systemd function (or spec) it was
// read from. Since is 0 for a rule no systemd release has yet.
type Change struct {
	Since int
	Rule  Rule
	Name  string
	Where string
	// Early is set when ukiboot applies the rule although Release does
	// not have it, and says why (a deliberate difference).
	Early string
}

// Changes is the table, oldest release first.
//
// Some rules have no switch in the code: ukiboot follows the v259
// behaviour unconditionally and keeps no older one (ids, the stub's
// argument check). Their rows say what changed and where, so that a
// reader of a newer release knows what to compare.
func Changes() []Change {
	return []Change{
		{Since: 254, Rule: SMBIOSStubCmdlineExtra, Name: "SMBIOS io.systemd.stub.kernel-cmdline-extra= extends a UKI's command line (own PCR 12 event)", Where: "src/boot/stub.c: cmdline_append_and_measure_smbios"},
		{Since: 256, Rule: SMBIOSBootCmdlineExtra, Name: "SMBIOS io.systemd.boot.kernel-cmdline-extra= extends type #1 linux entries", Where: "src/boot/boot.c: call_image_start"},
		{Since: 258, Rule: UKIWithoutCmdline, Name: "a UKI or profile without .cmdline is listed and bootable", Where: "src/boot/boot.c: boot_entry_add_type2; src/boot/stub.c: cmdline_append_and_measure_addons"},
		{Since: 258, Rule: EFIEntriesNotCounted, Name: "efi entries are not boot-counted", Where: "src/boot/boot.c: boot_entry_bump_counters (LOADER_TYPE_BUMP_COUNTERS has no LOADER_EFI)"},
		{Since: 258, Rule: SMBIOSEntriesExtra, Name: "SMBIOS io.systemd.boot.entries-extra: adds type #1 entries", Where: "src/boot/boot.c: config_load_smbios_entries"},
		{Since: 258, Rule: Type1UKIKeys, Name: "type #1 uki and uki-url keys", Where: "src/boot/boot.c: boot_entry_add_type1"},
		{Since: 259, Rule: EntryIDWithoutCounter, Name: "entry ids leave out the boot counter; a counted type #2 id keeps its case", Where: "src/boot/boot.c: boot_entry_parse_tries (systemd PR #38897)"},
		{Since: 259, Rule: ProfileIDAsWritten, Name: "UKI profile entry ids keep the profile ID as written", Where: "src/boot/boot.c: boot_entry_add_type2"},
		{Since: 259, Rule: StubArgumentsControlChars, Name: "the stub ignores load options with a control character anywhere before the NUL", Where: "src/boot/stub.c: process_arguments (systemd PR #39347)"},
		{Since: 260, Rule: SMBIOSBootTimeout, Name: "SMBIOS io.systemd.boot.timeout= sets the menu timeout", Where: "src/boot/boot.c: config_load_defaults"},
		{Since: 0, Rule: ConsoleAppend, Name: "console= of the boot loader's console is appended, unmeasured, when the command line has none", Where: "src/boot/console.c: cmdline_append_console, called from src/boot/stub.c run() (development branch after v260)",
			Early: "a distribution UKI must not go dark on a serial-only server; -console off disables it"},
		{Since: 0, Rule: CounterWidthKept, Name: "the boot-counting rename keeps both counters' digit widths", Where: "UAPI.1 boot counting (October 2025); systemd-boot up to v260 writes +9-1 (boot_entry_bump_counters)",
			Early: "the spec asks for it so that the rename is atomic on FAT; both forms parse everywhere"},
	}
}

// Follows reports whether ukiboot applies rule: systemd Release has it, or
// ukiboot adopted it early.
func Follows(r Rule) bool { return FollowsAt(r, Release) }

// FollowsAt is Follows for another release (tests, and reading the table).
func FollowsAt(r Rule, release int) bool {
	for _, c := range Changes() {
		if c.Rule == r {
			return (c.Since != 0 && c.Since <= release) || c.Early != ""
		}
	}
	panic(fmt.Sprintf("conform: rule %d has no row in Changes", r))
}
