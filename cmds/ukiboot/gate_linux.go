package main

import (
	"bytes"
	"os"

	"github.com/ukiboot/ukiboot/pkg/measure"
	"golang.org/x/sys/unix"
)

// kernelArgv0 is argv[0] as the kernel received it (/proc/self/cmdline),
// "" when it cannot be read.
func kernelArgv0() string {
	b, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		return ""
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// realShellGate is the gate of the machine: its TPM, exec(2), power off.
func realShellGate() shellGate {
	return shellGate{
		tpm:  measure.Open,
		exec: func(argv []string) error { return unix.Exec(argv[0], argv, os.Environ()) },
		halt: powerOffForever,
		logf: gateLogf(os.Stderr),
	}
}
