package stub

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// The kernel command line, as systemd-boot and systemd-stub (v259) build
// and measure it. ukiboot stands in for both: for a UKI, the boot loader
// hands the stub load options (measured by the loader), the stub takes
// its profile and arguments from them (measured again), then appends the
// addons' and SMBIOS's command lines (each measured); for a type #1
// "linux" entry, the boot loader alone builds the command line, initrd=
// paths first, and measures it whole. Every piece goes through UTF-16 on
// the way (uki.UCS2), as in systemd.

// arguments are the options the entry hands the kernel or the UKI: a type
// #1 entry's options, or the menu's edit.
func (b *builder) arguments() string {
	if b.pol.CmdlineSet {
		return b.pol.Cmdline
	}
	return b.target.Options
}

// loaderOptions are the load options systemd-boot starts a UKI with
// (call_image_start): the arguments, "@N " in front for a profile above 0.
// A type #2 entry's options are implied by its .cmdline and not passed
// unless edited. systemd-boot measures them into PCR 12 (UTF-16, with the
// NUL) when there are any, whatever the stub does with them later.
func (b *builder) loaderOptions() string {
	opts := uki.UCS2(b.arguments())
	if p := b.target.Profile; p > 0 {
		opts = joinSpace(fmt.Sprintf("@%d", p), opts)
	}
	if opts != "" {
		b.measureCmdline(opts)
	}
	return opts
}

// stubArguments is systemd-stub's process_arguments on the load options
// opts: when any character before the NUL is a control character
// (0x01-0x1F) the options are ignored entirely (profile 0, no arguments;
// some firmware passes binary data there); else a leading "@N" followed
// by one space or the end selects profile N
// (parse_profile_from_cmdline), and the rest, mangled, are the
// arguments. ok is false when the options were ignored.
func stubArguments(opts string) (profile int, args string, ok bool) {
	for i := 0; i < len(opts); i++ {
		if opts[i] <= 0x1f {
			return 0, "", false
		}
	}
	if rest, found := strings.CutPrefix(opts, "@"); found {
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		// At least one digit, no more than UINT_MAX, then a space or
		// the end; otherwise "@..." is part of the arguments.
		if n, err := strconv.ParseUint(rest[:end], 10, 32); err == nil && (end == len(rest) || rest[end] == ' ') {
			profile = int(n)
			opts = rest[end:]
			if opts != "" {
				opts = opts[1:] // exactly one separating space
			}
		}
	}
	return profile, uki.MangleUCS2(opts), true
}

// settleCmdline is systemd-stub's settle_command_line: the arguments,
// measured, unless they are ignored (verification enforced and the
// profile has a .cmdline); else the UKI's .cmdline.
func (b *builder) settleCmdline(u *uki.File, prof *uki.Profile, args string) (string, error) {
	if args != "" {
		if !b.pol.argumentsIgnored(prof) {
			b.measureCmdline(args)
			return args, nil
		}
		b.note("entry options %q ignored: verification is enforced and the UKI has its own .cmdline", args)
	}
	embedded, err := u.Text(prof, uki.SectionCmdline)
	if err != nil {
		return "", err
	}
	return uki.MangleCmdline(embedded), nil
}

// addonCmdline appends the addons' command lines to cmdline, as
// systemd-stub's load_addons and cmdline_append_and_measure_addons do:
// each addon's .cmdline, mangled, is added with a space before it
// unless nothing came before (so an addon whose .cmdline is only
// whitespace still adds its space between two others); the whole, mangled
// again, is one PCR 12 event.
func (b *builder) addonCmdline(cmdline string, addons []addon) (string, error) {
	var joined string
	for _, a := range addons {
		if a.file.Section(uki.SectionCmdline) != nil {
			t, err := a.file.Text(baseProfile(a.file), uki.SectionCmdline)
			if err != nil {
				return "", err
			}
			if joined == "" {
				joined = uki.MangleCmdline(t)
			} else {
				joined += " " + uki.MangleCmdline(t)
			}
		}
	}
	extra := uki.MangleUCS2(joined)
	if extra == "" {
		return cmdline, nil
	}
	b.measureCmdline(extra)
	return joinSpace(cmdline, extra), nil
}

// smbiosStubCmdline appends SMBIOS io.systemd.stub.kernel-cmdline-extra,
// mangled, as its own PCR 12 event (systemd-stub's
// cmdline_append_and_measure_smbios; it applies under Secure Boot too:
// whether the strings are used at all is the caller's policy).
func (b *builder) smbiosStubCmdline(cmdline string) string {
	extra := uki.MangleCmdline(b.pol.SMBIOS.Stub)
	if extra == "" {
		return cmdline
	}
	b.measureCmdline(extra)
	b.note("SMBIOS io.systemd.stub.kernel-cmdline-extra appended (measured into PCR 12): %q", extra)
	return joinSpace(cmdline, extra)
}

// linuxCmdline is the command line systemd-boot hands a type #1 "linux"
// entry's kernel (initrd_prepare, call_image_start): "initrd=<path>" for
// every initrd line, empty files included, with the path as on the
// partition in backslashes; then the options; then SMBIOS
// io.systemd.boot.kernel-cmdline-extra as given. Neither is mangled.
func (b *builder) linuxCmdline() string {
	var s string
	for _, p := range b.target.Initrd {
		s = joinSpace(s, "initrd="+efiPath(p))
	}
	s = joinSpace(s, uki.UCS2(b.arguments()))
	if extra := uki.UCS2(b.pol.SMBIOS.Boot); extra != "" {
		s = joinSpace(s, extra)
		b.note("SMBIOS io.systemd.boot.kernel-cmdline-extra appended (measured into PCR 12 with the command line): %q", extra)
	}
	return s
}

// efiPath writes a path on the partition as systemd-boot does
// (xstr8_to_path): backslashes, no doubled separators.
func efiPath(p string) string {
	p = strings.ReplaceAll(uki.UCS2(p), "/", "\\")
	for strings.Contains(p, "\\\\") {
		p = strings.ReplaceAll(p, "\\\\", "\\")
	}
	return p
}

// appendConsole adds "console=<Policy.Console>" to a final command line
// that has no console= (at its start or after a space, the test of
// systemd's cmdline_append_console), unmeasured.
func (b *builder) appendConsole(cmdline string) string {
	c := b.pol.Console
	if c == "" || hasArg(cmdline, "console=") {
		return cmdline
	}
	arg := "console=" + c
	b.note("%s appended, not measured: the command line names no console (-console)", arg)
	return joinSpace(cmdline, arg)
}

// joinSpace joins two pieces of command line with one space, leaving out
// the space when either is empty.
func joinSpace(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

// finalCmdline is cmdline with what ukiboot appends unmeasured:
// console= (-console), then the variables that make the next OS
// measure its boot phases.
func (b *builder) finalCmdline(cmdline string) string {
	cmdline = b.appendConsole(cmdline)
	if !b.pol.Measure.ForceMeasure {
		return cmdline
	}
	// PID 1 reads SYSTEMD_FORCE_MEASURE from the environment the kernel
	// gives it (efi_measured_uki); services such as systemd-pcrphase get
	// a clean environment and need systemd.setenv=.
	var added []string
	for _, arg := range []string{"SYSTEMD_FORCE_MEASURE=1", "systemd.setenv=SYSTEMD_FORCE_MEASURE=1"} {
		if !hasArg(cmdline, strings.TrimSuffix(arg, "1")) {
			added = append(added, arg)
		}
	}
	if len(added) > 0 {
		b.note("%s appended, not measured: ukiboot measured this boot as systemd-stub would", strings.Join(added, " "))
		cmdline = joinSpace(cmdline, strings.Join(added, " "))
	}
	return cmdline
}

// hasArg says whether an argument of cmdline starts with prefix.
func hasArg(cmdline, prefix string) bool {
	return strings.HasPrefix(cmdline, prefix) || strings.Contains(cmdline, " "+prefix)
}
