// Command report is the /init of the second-stage initrd that test UKIs
// carry: it describes what the booted kernel was handed, then powers the
// machine off.
//
// It mounts proc, sysfs and devtmpfs and prints to the console:
//
//	REPORT-BEGIN
//	REPORT-UNAME: <kernel release>
//	REPORT-CMDLINE: <contents of /proc/cmdline>
//	REPORT-EXTRA-DIR: <path> <mode>            for each directory under /.extra
//	REPORT-EXTRA: <path> <mode> <size> <sha256> for each file under /.extra
//	REPORT-EXTRA-OTHER: <path> <mode> <type>    for anything else there
//	REPORT-MARKER: <name> <first line>          for each file /marker*
//	REPORT-TPM-BANKS: <bank> ...                 when there is a TPM (tpm0)
//	REPORT-PCR: <bank> <pcr> <hex>               PCRs 7, 11, 12, 13 of each bank
//	REPORT-TPM-LOG: <base64>                     /.extra/tpm2-measure.log, in lines
//	REPORT-END
//
// Paths are absolute and sorted (/.extra itself included), modes are octal
// permission bits. The banks are the pcr-<bank> directories of
// /sys/class/tpm/tpm0, the PCR values those of its files (lower-case hex).
// The TPM log lines, concatenated, are the file in standard base64. It
// must be built static (CGO_ENABLED=0).
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ukiboot/ukiboot/integration/internal/tpmsysfs"
)

func main() {
	mount("proc", "/proc", "proc")
	mount("sysfs", "/sys", "sysfs")
	mount("devtmpfs", "/dev", "devtmpfs")

	w := console()
	report(w, "/")

	unix.Sync()
	drain(w)
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(w, "report: power off: %v\n", err)
	}
	for {
		time.Sleep(time.Hour)
	}
}

func mount(source, target, fstype string) {
	if err := os.MkdirAll(target, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
	}
	if err := unix.Mount(source, target, fstype, unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		fmt.Fprintf(os.Stderr, "report: mount %s on %s: %v\n", fstype, target, err)
	}
}

// console returns a writer to /dev/console and to stdout; once only when
// stdout is the console already. Each line is one write, so what was
// printed shows up even if the machine hangs afterwards.
func console() tee {
	var ws []io.Writer
	c, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0)
	if err == nil {
		ws = append(ws, c)
	}
	if c == nil || !sameFile(c, os.Stdout) {
		ws = append(ws, os.Stdout)
	}
	return tee(ws)
}

func sameFile(a, b *os.File) bool {
	var sa, sb unix.Stat_t
	if unix.Fstat(int(a.Fd()), &sa) != nil || unix.Fstat(int(b.Fd()), &sb) != nil {
		return false
	}
	return sa.Rdev == sb.Rdev && sa.Mode&unix.S_IFMT == unix.S_IFCHR && sb.Mode&unix.S_IFMT == unix.S_IFCHR
}

// drain waits until the terminals have sent all that was written to them
// (tcdrain): power off does not wait for the serial port.
func drain(t tee) {
	for _, w := range t {
		if f, ok := w.(*os.File); ok {
			unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1)
		}
	}
}

// tee writes to all its writers, whatever errors some of them return: a
// closed stdout must not hide the console.
type tee []io.Writer

func (t tee) Write(b []byte) (int, error) {
	for _, w := range t {
		w.Write(b)
	}
	return len(b), nil
}

// report writes the report about the file system rooted at root.
func report(w io.Writer, root string) {
	fmt.Fprintln(w, "REPORT-BEGIN")
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		fmt.Fprintf(w, "REPORT-UNAME: %s\n", unix.ByteSliceToString(u.Release[:]))
	}
	cmdline, err := os.ReadFile(filepath.Join(root, "proc/cmdline"))
	if err != nil {
		fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
	}
	fmt.Fprintf(w, "REPORT-CMDLINE: %s\n", strings.TrimRight(string(cmdline), "\n"))
	extra(w, root)
	markers(w, root)
	tpm(w, root)
	fmt.Fprintln(w, "REPORT-END")
}

func extra(w io.Writer, root string) {
	dir := filepath.Join(root, ".extra")
	if _, err := os.Lstat(dir); err != nil {
		return
	}
	// WalkDir visits in lexical order, each directory before its contents.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		name := "/" + filepath.ToSlash(rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
			return nil
		}
		mode := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			fmt.Fprintf(w, "REPORT-EXTRA-DIR: %s %04o\n", name, mode)
		case unix.S_IFREG:
			sum, err := hashFile(p)
			if err != nil {
				fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
				return nil
			}
			fmt.Fprintf(w, "REPORT-EXTRA: %s %04o %d %s\n", name, mode, st.Size, sum)
		default:
			fmt.Fprintf(w, "REPORT-EXTRA-OTHER: %s %04o %v\n", name, mode, d.Type())
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
	}
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func markers(w io.Writer, root string) {
	ms, _ := filepath.Glob(filepath.Join(root, "marker*"))
	sort.Strings(ms)
	for _, m := range ms {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
			continue
		}
		first, _, _ := strings.Cut(string(b), "\n")
		fmt.Fprintf(w, "REPORT-MARKER: %s %s\n", filepath.Base(m), strings.TrimRight(first, "\r"))
	}
}

// reportPCRs are the PCRs ukiboot extends (systemd's PCR 11, 12 and 13 and
// its verification policy in PCR 7).
func reportPCRs() []int { return []int{7, 11, 12, 13} }

// logLine is how many base64 characters one REPORT-TPM-LOG line holds.
const logLine = 96

// tpm prints the TPM's banks, the values of reportPCRs in each, and the
// event log ukiboot handed over in the initrd.
func tpm(w io.Writer, root string) {
	dir := filepath.Join(root, tpmsysfs.Dir)
	if _, err := os.Stat(dir); err == nil {
		banks, err := tpmsysfs.Banks(dir)
		if err != nil {
			fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
		}
		fmt.Fprintf(w, "REPORT-TPM-BANKS: %s\n", strings.Join(banks, " "))
		for _, b := range banks {
			for _, pcr := range reportPCRs() {
				v, err := tpmsysfs.Read(dir, b, pcr)
				if err != nil {
					fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
					continue
				}
				fmt.Fprintf(w, "REPORT-PCR: %s\n", tpmsysfs.Line(b, pcr, v))
			}
		}
	}
	log, err := os.ReadFile(filepath.Join(root, ".extra/tpm2-measure.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		fmt.Fprintf(w, "REPORT-ERROR: %v\n", err)
		return
	}
	s := base64.StdEncoding.EncodeToString(log)
	for len(s) > 0 {
		n := min(len(s), logLine)
		fmt.Fprintf(w, "REPORT-TPM-LOG: %s\n", s[:n])
		s = s[n:]
	}
}
