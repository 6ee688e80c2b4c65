package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// menuFrameEnd is the end of the menu's first frame (its title, the
// entries, then the keys it takes).
const menuFrameEnd = "o power off"

// firstFrame starts the menu (-dry-run: it changes nothing, and is killed
// once drawn) on a new 24x80 pty after dropping the page cache, runs
// times, and returns the median time from the start to the end of the
// menu's first frame on the pty, in seconds.
func firstFrame(ukiboot, esp string, runs int) (float64, error) {
	var ts []float64
	for range runs {
		unix.Sync()
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
			return 0, fmt.Errorf("dropping the page cache: %v", err)
		}
		t, err := oneFrame(ukiboot, esp)
		if err != nil {
			return 0, err
		}
		ts = append(ts, t)
	}
	return median(ts), nil
}

func oneFrame(ukiboot, esp string) (float64, error) {
	master, slave, err := openPty(24, 80)
	if err != nil {
		return 0, err
	}
	defer master.Close()
	cmd := exec.Command(ukiboot, "-dry-run", "-timeout", "menu-force", "-root", esp)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=linux")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return 0, err
	}
	slave.Close()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var seen bytes.Buffer
	buf := make([]byte, 64<<10)
	master.SetReadDeadline(start.Add(30 * time.Second))
	for !bytes.Contains(seen.Bytes(), []byte(menuFrameEnd)) {
		n, err := master.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, fmt.Errorf("no menu after 30 s; the pty showed %q", tail(seen.Bytes()))
			}
			return 0, fmt.Errorf("the menu's pty: %v; it showed %q", err, tail(seen.Bytes()))
		}
	}
	return time.Since(start).Seconds(), nil
}

func tail(b []byte) []byte { return b[max(0, len(b)-300):] }

// openPty returns the master and the slave of a new rows x cols pty.
func openPty(rows, cols int) (master, slave *os.File, err error) {
	// Non-blocking, so that reads of the master honour a deadline.
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("/dev/ptmx: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	fail := func(err error) (*os.File, *os.File, error) {
		master.Close()
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		return fail(err)
	}
	if slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0); err != nil {
		return fail(err)
	}
	return master, slave, nil
}
