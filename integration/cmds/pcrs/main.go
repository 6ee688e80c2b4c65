// Command pcrs is the /init of the initrd that the measured-boot VM tests'
// UKIs carry: it prints the TPM's PCRs as the booted kernel sees them, then
// hands over to the report init (integration/cmds/report, at /report),
// which describes the rest and powers the machine off.
//
// It mounts sysfs and prints to the console, for each PCR bank directory
// /sys/class/tpm/tpm0/pcr-<bank> and each PCR 0 to 23 that it has:
//
//	PCRS-BEGIN
//	PCRS: <bank> <index> <hex digest, lower case>
//	PCRS-ERROR: <what could not be read>
//	PCRS-END
//
// It must be built static (CGO_ENABLED=0).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// reportInit is where the initrd has the report command.
const reportInit = "/report"

func main() {
	if err := os.MkdirAll("/sys", 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "pcrs: %v\n", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		fmt.Fprintf(os.Stderr, "pcrs: mount sysfs on /sys: %v\n", err)
	}
	w := io.Writer(os.Stdout)
	if c, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0); err == nil {
		w = c
	}
	printPCRs(w, "/sys/class/tpm/tpm0")
	err := unix.Exec(reportInit, []string{reportInit}, os.Environ())
	fmt.Fprintf(w, "PCRS-ERROR: exec %s: %v\n", reportInit, err)
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// printPCRs writes the PCRS lines for the TPM whose sysfs directory is dev.
// Each line is one write, so a hang afterwards cannot swallow it.
func printPCRs(w io.Writer, dev string) {
	fmt.Fprintln(w, "PCRS-BEGIN")
	banks, err := filepath.Glob(filepath.Join(dev, "pcr-*"))
	if err != nil || len(banks) == 0 {
		fmt.Fprintf(w, "PCRS-ERROR: no %s/pcr-* directories (no TPM 2.0 or a kernel older than 5.12)\n", dev)
	}
	sort.Strings(banks)
	for _, b := range banks {
		bank := strings.TrimPrefix(filepath.Base(b), "pcr-")
		for i := 0; i < 24; i++ {
			v, err := os.ReadFile(filepath.Join(b, fmt.Sprint(i)))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				fmt.Fprintf(w, "PCRS-ERROR: %v\n", err)
				continue
			}
			fmt.Fprintf(w, "PCRS: %s %d %s\n", bank, i, strings.ToLower(strings.TrimSpace(string(v))))
		}
	}
	fmt.Fprintln(w, "PCRS-END")
}
