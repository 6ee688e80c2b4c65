// Command ukiboot boots Unified Kernel Images from LinuxBoot firmware.
//
// It does in the firmware's userspace what systemd-boot and systemd-stub do
// on UEFI machines: find boot entries, verify the chosen UKI, assemble what
// the stub would hand the kernel, and kexec it.
//
// Synopsis:
//
//	ukiboot -list -root DIR [-root DIR] [-json]
//	ukiboot -inspect FILE [-json]
//
// Options:
//
//	-list          print the boot entries in menu order and exit
//	-root DIR      a mounted ESP or XBOOTLDR (repeatable; ESP first)
//	-inspect FILE  describe one UKI or addon: sections, profiles,
//	               os-release, .uname, .cmdline, signatures
//	-json          print JSON instead of text
//	-v             verbose log
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	inspect string
	list    bool
	roots   stringList
	json    bool
	verbose bool
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ukiboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.inspect, "inspect", "", "describe the UKI or addon `FILE` and exit")
	fs.BoolVar(&o.list, "list", false, "print the boot entries in menu order and exit")
	fs.Var(&o.roots, "root", "use the mounted ESP or XBOOTLDR `DIR` instead of scanning disks (repeatable, ESP first)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
	fs.BoolVar(&o.verbose, "v", false, "verbose log")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ukiboot -list -root DIR [-root DIR] [-json]\n       ukiboot -inspect FILE [-json]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ukiboot: unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	switch {
	case o.inspect != "":
		if err := inspect(stdout, o.inspect, o.json); err != nil {
			fmt.Fprintf(stderr, "ukiboot: %v\n", err)
			return 1
		}
		return 0
	case o.list:
		if len(o.roots) == 0 {
			fmt.Fprintln(stderr, "ukiboot: -list needs -root DIR (scanning disks is not implemented yet)")
			return 2
		}
		c, err := bls.Load(o.roots, bls.Options{Vars: efiVars()})
		if err != nil {
			fmt.Fprintf(stderr, "ukiboot: %v\n", err)
			return 1
		}
		defer c.Close()
		if o.verbose {
			for _, w := range c.Warnings {
				fmt.Fprintf(stderr, "ukiboot: warning: %s\n", w)
			}
		}
		if err := printList(stdout, c, o.json); err != nil {
			fmt.Fprintf(stderr, "ukiboot: %v\n", err)
			return 1
		}
		return 0
	default:
		fs.Usage()
		return 2
	}
}

// efiVars returns the boot loader variables of this machine: efivarfs when
// mounted, else none (coreboot). UKIBOOT_EFIVARS names another directory
// (tests).
func efiVars() bls.Vars {
	e := bls.EFIVarFS{Dir: os.Getenv("UKIBOOT_EFIVARS")}
	if e.Available() {
		return e
	}
	return bls.NoVars{}
}
