package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sampleMemory runs args and reads, every millisecond from outside the
// process, /proc/PID/status (VmHWM, RssShmem) and the size of each open
// memfd (/proc/PID/fd/* whose link starts with /memfd:). VmHWM is the
// peak RSS so far, so a spike between two samples is not missed; shmem
// pages the process maps are in RssShmem and in the memfd sizes, so they
// are counted once.
func sampleMemory(args []string) (memPeak, error) {
	cmd := exec.Command(args[0], args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return memPeak{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var p memPeak
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	pid := cmd.Process.Pid
	for {
		hwm, shmem, okStatus := status(pid)
		fds := memfdBytes(pid)
		if okStatus {
			p.hwm = hwm
			p.total = max(p.total, hwm-shmem+fds)
		}
		p.memfd = max(p.memfd, fds)
		select {
		case err := <-done:
			if err != nil {
				return p, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out.Bytes())
			}
			if p.hwm == 0 {
				return p, fmt.Errorf("%s: exited before a sample was taken", strings.Join(args, " "))
			}
			return p, nil
		case <-tick.C:
		}
	}
}

// status reads VmHWM and RssShmem (bytes) of a live process.
func status(pid int) (hwm, shmem int64, ok bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			hwm, ok = n<<10, true
		case "RssShmem":
			shmem = n << 10
		}
	}
	return hwm, shmem, ok
}

// memfdBytes is the total size of the memfds the process has open.
func memfdBytes(pid int) int64 {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if l, err := os.Readlink(p); err != nil || !strings.HasPrefix(l, "/memfd:") {
			continue
		}
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	return total
}
