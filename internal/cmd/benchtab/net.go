package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// netBudget is case 8's: a verified download at 90 % or more of wget's
// speed on the same link, that is ukiboot's time <= wget's / 0.9.
const netBudget = 1 / 0.9

// server is a running benchserve.
type server struct {
	cmd *exec.Cmd
	url string // its base URL, http://127.0.0.1:PORT/
}

// startServer starts benchserve on a free loopback port serving dir, every
// response body paced to rate bytes/s (0: unpaced), and returns once it
// listens (it prints its URL then).
func startServer(bin, dir string, rate int64) (*server, error) {
	cmd := exec.Command(bin, "-root", dir, "-rate", strconv.FormatInt(rate, 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v (make bench builds it)", bin, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	url := strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s -root %s: no URL on its first line (%q, %v)", bin, dir, line, err)
	}
	return &server{cmd: cmd, url: url}, nil
}

// stop ends the server this benchtab started.
func (s *server) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// viaURL is case 8's command: the verified, measured dry-run of the UKI
// at url, with an empty ESP beside it, so that nothing but the network
// entry can be planned.
func (c config) viaURL(url string, f ukiFixture, emptyESP string) []string {
	return []string{c.ukiboot, "-dry-run", "-auto", "-url", url, "-root", emptyESP, "-verify", "enforce", "-db", f.ca,
		"-measure", "off", "-pcr-banks", "sha256"}
}

// payloadDigests are the plan's kernel and initrd SHA-256.
func payloadDigests(plan string) (kernel, initrd string) {
	re := regexp.MustCompile(`(?m)^(kernel|initrd): .* sha256 ([0-9a-f]{64})$`)
	for _, m := range re.FindAllStringSubmatch(plan, -1) {
		if m[1] == "kernel" {
			kernel = m[2]
		} else {
			initrd = m[2]
		}
	}
	return kernel, initrd
}

// samePayload: the plan of the download hands the kernel the same kernel
// and initrd as the plan of the same UKI read from the disk.
func samePayload(diskPlan, netPlan, log string) error {
	dk, di := payloadDigests(diskPlan)
	nk, ni := payloadDigests(netPlan)
	if dk == "" || nk != dk || ni != di {
		return fmt.Errorf("%s: the kernel and initrd of the download (sha256 %.12s, %.12s) are not those of the same UKI read from the disk (%.12s, %.12s)",
			log, nk, ni, dk, di)
	}
	return nil
}

// checkDownload runs the download's dry-run once, checks its plan as
// checkPlan does and against the disk's plan of the same UKI.
func (c config) checkDownload(args []string, f ukiFixture) error {
	disk, err := c.planOf(c.verified(f, "sha256"), "plan-sha256.txt")
	if err == nil {
		err = planComplete(disk, "sha256", filepath.Join(c.logs, "plan-sha256.txt"))
	}
	if err != nil {
		return err
	}
	log := filepath.Join(c.logs, "plan-url.txt")
	plan, err := c.planOf(args, "plan-url.txt")
	if err != nil {
		return err
	}
	if err := planComplete(plan, "sha256", log); err != nil {
		return err
	}
	return samePayload(disk, plan, log)
}

// planOf runs a dry-run and keeps its output in the logs as name.
func (c config) planOf(args []string, name string) (string, error) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	log := filepath.Join(c.logs, name)
	if werr := os.WriteFile(log, out, 0o644); werr != nil {
		return "", werr
	}
	if err != nil {
		return "", fmt.Errorf("%s: %v (its output: %s)", shellJoin(args...), err, log)
	}
	return string(out), nil
}

// linkSpeed names a rate in bytes/s as a link's speed in bits/s.
func linkSpeed(bps int64) string {
	if bits := float64(bps) * 8; bits >= 1e9 {
		return fmt.Sprintf("%g Gbit/s", bits/1e9)
	} else {
		return fmt.Sprintf("%g Mbit/s", bits/1e6)
	}
}

// downloadCases are case 8 (issue 15): ukiboot's verified download of the
// main UKI from benchserve against wget -O /dev/null of the same URL, on
// a link paced to c.netBPS (the literal budget, on a link slower than
// the hashes, as case 2's throttled disk), and, reported only, on the
// unpaced loopback against the slower of wget and the warm verified
// dry-run from the disk: there the server and the kernel's loopback
// copies share the two cores with the hashes, which no boot does.
func downloadCases(c config) ([]row, []string) {
	f := c.uki(c.sizes[1])
	paced := fmt.Sprintf("8  verified download %d MiB / wget, link at %s", f.mib, linkSpeed(c.netBPS))
	free := fmt.Sprintf("8  verified download %d MiB / max(wget, warm dry-run), loopback", f.mib)
	fail := func(err error) ([]row, []string) {
		return []row{{name: paced, err: "see notes"}, {name: free, err: "see notes"}}, []string{"8: " + err.Error()}
	}
	switch {
	case c.serve == "":
		return []row{{name: paced, skip: "no -serve"}, {name: free, skip: "no -serve"}}, nil
	case c.netBPS <= 0:
		return fail(errors.New("BENCH_NET_BPS (-net-bps) is not a positive rate"))
	}
	if _, err := exec.LookPath("wget"); err != nil {
		return fail(fmt.Errorf("%v (make bench installs Debian's wget)", err))
	}
	empty := filepath.Join(c.fixtures, "empty-esp")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return fail(err)
	}
	r1, n1 := c.pacedDownload(paced, f, empty)
	r2, n2 := c.loopbackDownload(free, f, empty)
	return []row{r1, r2}, []string{n1, n2}
}

// pacedDownload times the download and wget on a link of c.netBPS.
func (c config) pacedDownload(name string, f ukiFixture, empty string) (row, string) {
	note := "8 (link at " + linkSpeed(c.netBPS) + "): "
	s, err := startServer(c.serve, filepath.Dir(f.uki), c.netBPS)
	if err != nil {
		return row{name: name, err: "see notes"}, note + err.Error()
	}
	defer s.stop()
	url := s.url + filepath.Base(f.uki)
	args := c.viaURL(url, f, empty)
	if err := c.checkDownload(args, f); err != nil {
		return row{name: name, err: "see notes"}, note + err.Error()
	}
	m, err := c.hyperfine("8-link", c.runs, "", command{"ukiboot", shellJoin(args...)},
		command{"wget", shellJoin("wget", "-q", "-O", "/dev/null", url)})
	r := timed(name, m, err, "ukiboot", "wget", netBudget)
	if err != nil {
		return r, note + err.Error()
	}
	return r, note + fmt.Sprintf("benchserve paces every response body to %d bytes/s (%s); wget %.3f s (%.0f MB/s), the verified download %.3f s (%.0f MB/s, %.0f %% of wget's speed)",
		c.netBPS, mbps(c.netBPS), m["wget"], float64(f.size)/m["wget"]/1e6, m["ukiboot"], float64(f.size)/m["ukiboot"]/1e6, 100*m["wget"]/m["ukiboot"])
}

// loopbackDownload times the download, wget and the warm verified
// dry-run from the disk in one hyperfine run, unpaced; reported.
func (c config) loopbackDownload(name string, f ukiFixture, empty string) (row, string) {
	note := "8 (loopback): "
	s, err := startServer(c.serve, filepath.Dir(f.uki), 0)
	if err != nil {
		return row{name: name, err: "see notes"}, note + err.Error()
	}
	defer s.stop()
	url := s.url + filepath.Base(f.uki)
	m, err := c.hyperfine("8", c.runs, "", command{"ukiboot", shellJoin(c.viaURL(url, f, empty)...)},
		command{"wget", shellJoin("wget", "-q", "-O", "/dev/null", url)}, command{"warm", shellJoin(c.verified(f, "sha256")...)})
	r := timed(name, m, err, "ukiboot", "", 0)
	if err != nil {
		return r, note + err.Error()
	}
	r.baseline = slower(m, "wget", "warm")
	return r, note + fmt.Sprintf("unpaced: wget %.3f s (%.0f MB/s), warm verified dry-run from the disk %.3f s (same hyperfine run): the baseline is the slower; the download is %.2fx wget alone",
		m["wget"], float64(f.size)/m["wget"]/1e6, m["warm"], m["ukiboot"]/m["wget"])
}
