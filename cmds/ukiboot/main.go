// Command ukiboot boots Unified Kernel Images from LinuxBoot firmware.
//
// It does in the firmware's userspace what systemd-boot and systemd-stub do
// on UEFI machines: find boot entries, verify the chosen UKI, assemble what
// the stub would hand the kernel, and kexec it.
//
// Synopsis:
//
//	ukiboot [-timeout DUR] [-append STR] [-root DIR]... [-dry-run | -no-reboot]
//	ukiboot -auto [-entry ID] [-append STR] [-root DIR]... [-no-reboot | -dry-run [-json] [-extract DIR]]
//	ukiboot -list [-root DIR]... [-json] [-verify-all]
//	ukiboot [-auto|-list] -url URL... [-net auto|off] [-ca FILE] ...
//	ukiboot -inspect FILE [-json]
//	sh [ARG]...   (started as sh or defaultsh: close PCRs 7, 11, 12 and 13, exec gosh; gate.go)
//
// Options:
//
//	(no mode)      the boot menu on the console
//	-auto          boot the default entry; if it fails, the next ones
//	-dry-run       change nothing; print the plan of what -auto or the
//	               menu chooses
//	-no-reboot     load the chosen entry but do not reboot into it
//	-timeout DUR   menu timeout (or menu-force, menu-hidden, ...)
//	-extract DIR   with -dry-run: write kernel, initrd and cmdline to DIR
//	-entry ID      boot the entry with this id (or glob)
//	-append STR    add to the kernel command line
//	-list          print the boot entries in menu order and exit
//	-root DIR      a mounted ESP or XBOOTLDR instead of scanning disks
//	               (repeatable; ESP first)
//	-wait DUR      how long to wait for disks to appear (default 10s)
//	-max-size SIZE refuse larger files before reading them (default 1G)
//	-inspect FILE  describe one UKI or addon: sections, profiles,
//	               os-release, .uname, .cmdline, signatures
//	-measure MODE  auto, require or off: extend the TPM
//	-pcr-banks B   auto or the PCR banks to compute (sha256,sha384)
//	-on-failure A  reboot, poweroff, shell or menu when nothing boots
//	-url URL       a signed UKI on an http(s) server, listed first
//	               (repeatable; #min-version=V refuses older ones)
//	-net MODE      auto or off: bring the network up for network entries
//	-net-wait DUR  how long to wait for the network (default 90s)
//	-ca FILE       the CAs https:// servers are checked against
//	-net-read-timeout DUR
//	               a download without data this long fails (default 30s)
//	-json          print JSON instead of text
//	-v             verbose log
//
// (x509negativeserial: certificates with negative serial numbers exist in
// old CA hierarchies; OpenSSL, and so UEFI firmware, parses them, and a
// trust store Go refused to parse would stop every boot.)
//
//go:debug x509negativeserial=1
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	// First: no end signal may end a boot mode unseen (closeShellDoor).
	early := catchEndSignals()
	if isShellGate(os.Args[0], kernelArgv0()) {
		os.Exit(realShellGate().run(os.Args[1:]))
	}
	sys := realSystem()
	sys.signals = early.notify
	sys.releaseSignals = func() { early.release(sys.die) }
	os.Exit(runWith(os.Args[1:], os.Stdout, os.Stderr, sys))
}

type options struct {
	// maxSize is -max-size: the largest file ukiboot reads whole.
	maxSize int64

	inspect string
	list    bool
	auto    bool
	dryRun  bool
	// noReboot commits everything but the reboot (-no-reboot).
	noReboot bool
	// verifyAll makes -list verify every UKI (-verify-all).
	verifyAll bool
	extract   string
	entry     string
	append    string
	roots     stringList
	wait      time.Duration
	timeout   menuTimeoutFlag
	verify    string
	db, dbx   stringList
	// sbatLevel are -sbatlevel files: SbatLevels .sbat sections are checked against.
	sbatLevel stringList
	// trustMOK adds shim's MokListRT to db.
	trustMOK bool
	json     bool
	verbose  bool
	// console is -console: "auto" (append the console ukiboot runs on
	// when the command line has none), "off", or the console to append
	// instead (checkConsoleFlag).
	console string
	// smbios is -smbios: whether SMBIOS Type 11 strings extend command
	// lines and entries ("on", "off", or "auto": on unless verification
	// is enforced).
	smbios string
	// measure is -measure (auto, require, off), pcrBanks -pcr-banks
	// (auto or a list), onFailure -on-failure (measure.go, failure.go).
	measure, pcrBanks, onFailure string
	// initProgram: u-root's init runs ukiboot (system.initProgram).
	initProgram bool
	// tpm is this run's TPM session, shared by the pipelines a menu
	// rescan opens (bootMode sets it).
	tpm *tpmRun
	// urls are the -url UKIs (netboot.go); net is -net (auto or off),
	// netWait -net-wait, ca -ca, netReadTimeout -net-read-timeout.
	urls           stringList
	net            string
	netWait        time.Duration
	ca             string
	netReadTimeout time.Duration
	// progress is where download progress lines go: stderr.
	progress io.Writer
	// netUp is the network bring-up of this run, shared by the pipelines
	// a menu rescan or -on-failure menu opens: a bring-up that failed is
	// not waited for again (netboot.go sets it).
	netUp *onceErr
}

// onceErr runs something once and keeps its error.
type onceErr struct {
	once sync.Once
	err  error
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr, realSystem())
}

// flagSet defines ukiboot's flags on o, with their defaults, and the
// usage text written to stderr; showVersion is -version.
func (o *options) flagSet(stderr io.Writer) (fs *flag.FlagSet, showVersion *bool) {
	fs = flag.NewFlagSet("ukiboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.inspect, "inspect", "", "describe the UKI or addon `FILE` and exit")
	fs.BoolVar(&o.auto, "auto", false, "boot the default entry without a menu; on failure try the next entries")
	fs.BoolVar(&o.dryRun, "dry-run", false, "change nothing: print the plan of the entry -auto or the menu chooses instead of loading it")
	fs.BoolVar(&o.noReboot, "no-reboot", false, "load the chosen entry (boot counting, one-shot variable, kexec_file_load) but do not reboot into it; start it later with 'kexec -e' or 'systemctl kexec'")
	fs.StringVar(&o.extract, "extract", "", "with -dry-run: write kernel, initrd and cmdline of the plan into `DIR`")
	fs.StringVar(&o.entry, "entry", "", "boot the entry with this `ID` (or glob)")
	fs.StringVar(&o.append, "append", "", "add `STR` to the kernel command line")
	o.wait = 10 * time.Second
	fs.Var((*seconds)(&o.wait), "wait", "how long to wait for an ESP to appear when scanning disks (`SECONDS` or a duration: 5, 5s)")
	showVersion = fs.Bool("version", false, "print the version and exit")
	fs.Var(maxSizeFlag(&o.maxSize), "max-size", "refuse UKIs, addons, kernels, initrds, credentials and extensions larger than `SIZE` (bytes, or with K, M, G, T) before reading them")
	fs.Var(&o.timeout, "timeout", "menu timeout (`DURATION`, or menu-force, menu-hidden, menu-disabled); overrides loader.conf")
	fs.StringVar(&o.verify, "verify", "auto", "signature policy: `auto` (enforce when locked down, with Secure Boot or a trust store), enforce, off")
	fs.Var(&o.db, "db", "trusted certificates or EFI signature lists: a `PATH` to a file or directory (repeatable)")
	fs.Var(&o.dbx, "dbx", "revoked certificates or hashes: a `PATH` to a file or directory (repeatable)")
	fs.Var(&o.sbatLevel, "sbatlevel", "an SbatLevel `FILE` (shim's format) that .sbat sections of UKIs and addons must meet (repeatable; the strictest wins)")
	fs.BoolVar(&o.trustMOK, "trust-mok", false, "trust shim's MokListRT (volatile, or from its MOK table) as db; MokListXRT always revokes")
	fs.BoolVar(&o.verifyAll, "verify-all", false, "with -list: verify every UKI and show the verdicts (reads each UKI in full)")
	fs.BoolVar(&o.list, "list", false, "print the boot entries in menu order and exit")
	fs.Var(&o.roots, "root", "use the mounted ESP or XBOOTLDR `DIR` instead of scanning disks (repeatable, ESP first)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
	fs.BoolVar(&o.verbose, "v", false, "verbose log")
	fs.StringVar(&o.console, "console", "auto", "`auto`: give a kernel command line without console= the console ukiboot runs on; off: do not; or the console to give (ttyS1,115200)")
	fs.StringVar(&o.smbios, "smbios", "auto", "SMBIOS Type 11 io.systemd.* strings: on, off, or `auto` (on unless verification is enforced)")
	fs.StringVar(&o.measure, "measure", measureAuto, "TPM measurements: `auto` (extend when there is a TPM), require (boot only what was extended in full), off")
	fs.StringVar(&o.pcrBanks, "pcr-banks", "auto", "the PCR banks events are computed for: `auto` (the TPM's active banks; sha256 without a TPM) or a list (sha1,sha256,sha384,sha512)")
	fs.StringVar(&o.onFailure, "on-failure", "shell", "when nothing boots: reboot, poweroff, `shell` (exit to u-root's shell), menu (show the menu after -auto)")
	fs.Var(&o.urls, "url", "boot the signed UKI at this http:// or https:// `URL` (repeatable; listed first, the first is the default; #min-version=V refuses older ones)")
	fs.StringVar(&o.net, "net", "auto", "network bring-up for -url and uki-url entries: `auto` (DHCPv4, DHCPv6 and SLAAC when no interface has an address), off (the ROM configures it)")
	o.netWait = 90 * time.Second
	fs.Var((*seconds)(&o.netWait), "net-wait", "how long to wait for the network to come up (`SECONDS` or a duration)")
	fs.StringVar(&o.ca, "ca", "", "the PEM `FILE` of the CA certificates https:// servers are checked against, instead of the ROM's /etc/ukiboot/ca.pem or, without it, the system's (/etc/ssl/certs)")
	o.netReadTimeout = 30 * time.Second
	fs.Var((*seconds)(&o.netReadTimeout), "net-read-timeout", "give up a download when no data came for this long (`SECONDS` or a duration)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ukiboot [-timeout DUR] [-append STR] [-root DIR]... [-dry-run | -no-reboot]   (the boot menu)\n"+
			"       ukiboot -auto [-entry ID] [-append STR] [-root DIR]... [-no-reboot | -dry-run [-json] [-extract DIR]]\n"+
			"       ukiboot -list [-root DIR]... [-json] [-verify-all]\n"+
			"       ukiboot -inspect FILE [-json]\n"+
			"network: -url URL... [-net auto|off] [-net-wait DUR] [-ca FILE] [-net-read-timeout DUR] (with -auto, -list, the menu)\n"+
			"verification: -verify auto|enforce|off, -db PATH, -dbx PATH (with every mode)\n")
		fs.PrintDefaults()
	}
	return fs, showVersion
}

// runWith is run on the system sys (the tests give a fake one).
func runWith(args []string, stdout, stderr io.Writer, sys system) int {
	o := options{initProgram: sys.initProgram, progress: stderr}
	fs, showVersion := o.flagSet(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if strings.HasPrefix(o.inspect, "-") && fs.NArg() > 0 {
		// "-inspect -json FILE": -json was taken as the file name.
		flagArg, rest := o.inspect, fs.Args()
		o.inspect = rest[0]
		if err := fs.Parse(append([]string{flagArg}, rest[1:]...)); err != nil {
			return 2
		}
	}
	if *showVersion {
		fmt.Fprintln(stdout, version())
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ukiboot: unexpected arguments: %q (flags go before them; -inspect takes the file name right after it)\n", fs.Args())
		fs.Usage()
		return 2
	}
	if msg := conflicts(&o); msg != "" {
		fmt.Fprintf(stderr, "ukiboot: %s\n", msg)
		return 2
	}
	if err := checkConsoleFlag(o.console); err != nil {
		fmt.Fprintf(stderr, "ukiboot: -console %v\n", err)
		return 2
	}
	if (o.inspect != "" || o.list) && sys.releaseSignals != nil {
		sys.releaseSignals() // nothing to close: signals end them as usual
	}
	switch {
	case o.inspect != "":
		pol, _, err := sys.platform.policy(&o)
		if err != nil {
			fmt.Fprintf(stderr, "ukiboot: %v\n", err)
			return 1
		}
		if err := inspect(stdout, o.inspect, pol, o.maxSize, o.json, sys.smbios); err != nil {
			fmt.Fprintf(stderr, "ukiboot: %v\n", err)
			return 1
		}
		return 0
	case o.list:
		return listEntries(&o, sys, stdout, stderr)
	case o.auto:
		return bootMode(&o, sys, stdout, stderr, autoBoot)
	default:
		return bootMode(&o, sys, stdout, stderr, func(o *options, sys system, stdout, stderr io.Writer) int {
			return runMenu(o, sys, sys.stdin, stdout, stderr)
		})
	}
}

// conflicts rejects flag combinations that would silently ignore a flag.
func conflicts(o *options) string {
	modes := 0
	for _, on := range []bool{o.inspect != "", o.list, o.auto} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return "-inspect, -list and -auto are separate modes: use one"
	case o.dryRun && (o.list || o.inspect != ""):
		return "-dry-run goes with -auto or the menu (no mode flag)"
	case o.noReboot && (o.dryRun || o.list || o.inspect != ""):
		return "-no-reboot goes with -auto or the menu, without -dry-run"
	case o.entry != "" && !o.auto:
		return "-entry goes with -auto (in the menu, choose with the keys)"
	case o.timeout.set && (o.auto || o.list || o.inspect != ""):
		return "-timeout goes with the menu (no mode flag)"
	case o.verifyAll && !o.list:
		return "-verify-all goes with -list (a boot always verifies what it loads)"
	case o.json && !o.list && o.inspect == "" && !o.auto:
		return "-json goes with -list, -inspect or -auto -dry-run: the menu draws on stdout, where JSON could not be read"
	case o.json && o.auto && !o.dryRun:
		return "-json goes with -list, -inspect or -auto -dry-run: -auto without -dry-run prints no plan"
	case o.extract != "" && !o.dryRun:
		return "-extract needs -dry-run"
	case (o.list || o.inspect != "") && (o.entry != "" || o.append != ""):
		return "-append goes with -auto or the menu"
	case o.smbios != "on" && o.smbios != "off" && o.smbios != "auto":
		return fmt.Sprintf("-smbios %q: use on, off or auto", o.smbios)
	case !slices.Contains(onFailureValues(), o.onFailure):
		return fmt.Sprintf("-on-failure %q: use reboot, poweroff, shell or menu", o.onFailure)
	case o.net != "auto" && o.net != "off":
		return fmt.Sprintf("-net %q: use auto or off", o.net)
	case len(o.urls) > 0 && o.inspect != "":
		return "-url goes with -auto, -list or the menu (-inspect reads a file)"
	case o.netWait <= 0:
		return "-net-wait must be more than 0 (with -net off the network is not brought up)"
	case o.netReadTimeout <= 0:
		return "-net-read-timeout must be more than 0"
	}
	if msg := checkURLFlags(o.urls); msg != "" {
		return msg
	}
	return checkMeasureFlags(o)
}
