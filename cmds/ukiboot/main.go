// Command ukiboot boots Unified Kernel Images from LinuxBoot firmware.
//
// It does in the firmware's userspace what systemd-boot and systemd-stub do
// on UEFI machines: find boot entries, verify the chosen UKI, assemble what
// the stub would hand the kernel, and kexec it.
//
// Synopsis:
//
//	ukiboot -inspect FILE [-json]
//
// Options:
//
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
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	inspect string
	json    bool
	verbose bool
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ukiboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.inspect, "inspect", "", "describe the UKI or addon `FILE` and exit")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of text")
	fs.BoolVar(&o.verbose, "v", false, "verbose log")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ukiboot -inspect FILE [-json]\n")
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
	default:
		fs.Usage()
		return 2
	}
}
