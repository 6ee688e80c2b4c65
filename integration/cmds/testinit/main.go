// Command testinit is the uinit of the first-stage test initramfs
// (integration.BuildStage1): u-root's init runs it, and it prepares the
// machine the way LinuxBoot firmware would before ukiboot starts.
//
// u-root's init has loaded the kernel modules of /lib/modules-load.d
// before it starts testinit. testinit says how many are loaded, optionally
// waits for disks, runs /bbin/ukiboot with
// its own arguments, and powers the machine off when ukiboot exits, so that
// qemu exits instead of waiting at a shell.
//
// Kernel command line options:
//
//	testinit.waitdisk=N  wait up to 10 s until N disks are listed in
//	                     /sys/class/block (1 when given without a number)
//	testinit.kexec=1     when ukiboot exits 0 (ukiboot -no-reboot), start
//	                     the kernel it loaded, as "kexec -e" does
//	testinit.pcrs=1      before running ukiboot, print the values of PCRs
//	                     0-15 of each bank of tpm0 (what the firmware
//	                     measured before ukiboot)
//	testinit.shell=1     when ukiboot exits, run u-root's gosh on the
//	                     console, and power off when it exits: for a person
//	                     debugging at a terminal (gosh waits for answers to
//	                     terminal queries, which the test harness does not
//	                     give)
//
// Lines it prints, which tests match:
//
//	testinit: N modules loaded
//	testinit: TPM: tpm0 (TPM 2) ...  (or "none")
//	testinit: pcr <bank> <pcr> <hex>  (testinit.pcrs=1)
//	testinit: block devices: vda vda1 ...  (or "none")
//	testinit: ukiboot exited: exit status 0
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ukiboot/ukiboot/integration/internal/tpmsysfs"
)

const ukiboot = "/bbin/ukiboot"

// out is where testinit and ukiboot print, and ukiboot reads keys from:
// the console itself rather than the pipe u-root's init gives its
// children for output, so that nothing is left in that pipe when the
// machine powers off.
var out = os.Stdout

func main() {
	args := os.Args[1:]
	if c, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		out = c
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		logf("reading /proc/cmdline: %v", err)
	}
	opts := parseCmdline(string(cmdline))

	if n, err := loadedModules(); err != nil {
		logf("modules: %v", err)
	} else {
		logf("%d modules loaded", n)
	}

	if s, ok := opts["testinit.waitdisk"]; ok {
		want := 1
		if s != "" {
			if want, err = strconv.Atoi(s); err != nil {
				logf("testinit.waitdisk=%s: %v", s, err)
				want = 1
			}
		}
		waitDisks(want, 10*time.Second)
	}
	logf("TPM: %s", tpms())
	if opts["testinit.pcrs"] == "1" {
		printPCRs()
	}
	devs := blockDevices()
	if len(devs) == 0 {
		logf("block devices: none")
	} else {
		logf("block devices: %s", strings.Join(devs, " "))
	}

	c := exec.Command(ukiboot, args...)
	c.Args[0] = "ukiboot"
	c.Stdin, c.Stdout, c.Stderr = out, out, out
	if out == os.Stdout {
		c.Stdin = os.Stdin
	}
	logf("running ukiboot %s", strings.Join(args, " "))
	status := "exit status 0"
	runErr := c.Run()
	if runErr != nil {
		status = runErr.Error()
	}
	logf("ukiboot exited: %s", status)
	if opts["testinit.kexec"] == "1" && runErr == nil {
		logf("testinit.kexec=1: starting the loaded kernel (kexec -e)")
		unix.Sync()
		if err := unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC); err != nil {
			logf("kexec -e: %v", err)
		}
	}

	if opts["testinit.shell"] == "1" {
		sh := exec.Command("/bbin/gosh")
		sh.Stdin, sh.Stdout, sh.Stderr = out, out, out
		logf("testinit.shell=1: starting gosh; exit it to power off")
		if err := sh.Run(); err != nil {
			logf("gosh: %v", err)
		}
	}
	unix.Sync()
	// Wait until the serial port has sent all that was written (tcdrain):
	// power off does not.
	unix.IoctlSetInt(int(out.Fd()), unix.TCSBRK, 1)
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		logf("power off: %v", err)
	}
	for {
		time.Sleep(time.Hour)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(out, "testinit: "+format+"\n", a...)
}

// parseCmdline returns the key=value words of a kernel command line (a
// word without "=" maps to ""). Quotes around values are removed.
func parseCmdline(s string) map[string]string {
	m := map[string]string{}
	var word strings.Builder
	quoted := false
	flush := func() {
		if word.Len() > 0 {
			k, v, _ := strings.Cut(word.String(), "=")
			m[k] = v
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			flush()
		default:
			word.WriteRune(r)
		}
	}
	flush()
	return m
}

// tpms lists the TPMs in /sys/class/tpm with their major versions.
func tpms() string {
	ents, err := os.ReadDir("/sys/class/tpm")
	if err != nil || len(ents) == 0 {
		return "none"
	}
	var l []string
	for _, e := range ents {
		v, err := os.ReadFile(filepath.Join("/sys/class/tpm", e.Name(), "tpm_version_major"))
		if err != nil {
			l = append(l, e.Name())
			continue
		}
		l = append(l, fmt.Sprintf("%s (TPM %s)", e.Name(), strings.TrimSpace(string(v))))
	}
	return strings.Join(l, " ")
}

// printPCRs prints PCRs 0-15 of each bank of tpm0.
func printPCRs() {
	banks, err := tpmsysfs.Banks(tpmsysfs.Dir)
	if err != nil || len(banks) == 0 {
		logf("PCRs: no PCR banks in %s (%v)", tpmsysfs.Dir, err)
		return
	}
	for _, b := range banks {
		for pcr := 0; pcr < 16; pcr++ {
			v, err := tpmsysfs.Read(tpmsysfs.Dir, b, pcr)
			if err != nil {
				logf("PCRs: %v", err)
				continue
			}
			logf("pcr %s", tpmsysfs.Line(b, pcr, v))
		}
	}
}

// loadedModules returns how many modules /proc/modules lists.
func loadedModules() (int, error) {
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		return 0, err
	}
	return strings.Count(string(b), "\n"), nil
}

// disks returns the whole disks in /sys/class/block: not partitions, loop
// or ram devices.
func disks() []string {
	var d []string
	for _, n := range blockDevices() {
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/class/block", n, "partition")); err == nil {
			continue
		}
		d = append(d, n)
	}
	return d
}

func waitDisks(want int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		d := disks()
		if len(d) >= want {
			return
		}
		if time.Now().After(deadline) {
			logf("waited %v for %d disks, have %d", timeout, want, len(d))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func blockDevices() []string {
	ents, err := os.ReadDir("/sys/class/block")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
