package integration

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// File is a file, directory or symlink of an archive made by Newc.
type File struct {
	Name string      // path in the archive, with or without leading "/"
	Data []byte      // contents, or a symlink's target
	Mode fs.FileMode // type and permissions; 0 means a regular 0644 file
}

// Newc returns a newc cpio archive (what the kernel unpacks as an initrd)
// of files. The directories above each file are added first (0755) unless
// files list them.
func Newc(files []File) ([]byte, error) {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	written := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(path.Clean("/"+f.Name), "/")
		if name == "" {
			return nil, fmt.Errorf("cpio: file %q has no name", f.Name)
		}
		if written[name] {
			return nil, fmt.Errorf("cpio: %s twice", name)
		}
		var parents []string
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			if !written[parents[i]] {
				written[parents[i]] = true
				if err := w.WriteRecord(cpio.Directory(parents[i], 0o755)); err != nil {
					return nil, err
				}
			}
		}
		written[name] = true
		perm := uint64(f.Mode.Perm())
		if f.Mode&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if f.Mode&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if f.Mode&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		var r cpio.Record
		switch {
		case f.Mode == 0:
			r = cpio.StaticRecord(f.Data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o644})
		case f.Mode.IsDir():
			r = cpio.Directory(name, perm)
		case f.Mode&fs.ModeSymlink != 0:
			r = cpio.Symlink(name, string(f.Data))
		case f.Mode&fs.ModeCharDevice != 0:
			// Data holds "major:minor".
			maj, min, _ := strings.Cut(string(f.Data), ":")
			ma, err1 := strconv.ParseUint(maj, 10, 32)
			mi, err2 := strconv.ParseUint(min, 10, 32)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("cpio: character device %s: Data must be \"major:minor\", not %q", name, f.Data)
			}
			r = cpio.CharDev(name, perm, ma, mi)
		case f.Mode.IsRegular():
			r = cpio.StaticRecord(f.Data, cpio.Info{Name: name, Mode: cpio.S_IFREG | perm})
		default:
			return nil, fmt.Errorf("cpio: %s: unsupported mode %v", name, f.Mode)
		}
		if err := w.WriteRecord(r); err != nil {
			return nil, err
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var reportBinary struct {
	sync.Mutex
	data []byte
}

// ReportBinary returns the report command (integration/cmds/report), built
// static once per test process.
func ReportBinary(t testing.TB) []byte {
	t.Helper()
	reportBinary.Lock()
	defer reportBinary.Unlock()
	if reportBinary.data != nil {
		return reportBinary.data
	}
	goCmd := ukitest.Need(t, "go")
	dir, err := os.MkdirTemp("", "ukiboot-report")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "report")
	c := exec.Command(goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./integration/cmds/report")
	c.Dir = RepoRoot(t)
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	start := time.Now()
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("building the report init: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built the report init (%d bytes) in %.1fs", len(b), time.Since(start).Seconds())
	reportBinary.data = b
	return b
}

// ReportInitrd returns a newc cpio archive whose /init is the report
// command, with /dev/console, /proc, /sys and extra files (e.g. a
// File{Name: "marker-initrd1", Data: []byte("one\n")}, which the report
// prints as "REPORT-MARKER: marker-initrd1 one").
func ReportInitrd(t testing.TB, extra ...File) []byte {
	t.Helper()
	files := []File{
		{Name: "init", Data: ReportBinary(t), Mode: 0o755},
		{Name: "dev", Mode: fs.ModeDir | 0o755},
		{Name: "dev/console", Data: []byte("5:1"), Mode: fs.ModeCharDevice | fs.ModeDevice | 0o600},
		{Name: "proc", Mode: fs.ModeDir | 0o755},
		{Name: "sys", Mode: fs.ModeDir | 0o755},
	}
	b, err := Newc(append(files, extra...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteFile writes data to name in a fresh t.TempDir() and returns the path.
func WriteFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Report is what the report init printed.
type Report struct {
	Uname   string            // REPORT-UNAME
	Cmdline string            // REPORT-CMDLINE
	Extra   []ExtraFile       // REPORT-EXTRA*, in order
	Markers map[string]string // REPORT-MARKER: name -> first line
	Errors  []string          // REPORT-ERROR
	Lines   []string          // all REPORT lines, BEGIN to END

	// TPM says whether the kernel had a TPM (REPORT-TPM-BANKS), Banks
	// are its active PCR banks (sha1, sha256, ...), PCRs the values the
	// report read: bank -> PCR -> value.
	TPM   bool
	Banks []string
	PCRs  PCRValues
	// TPMLog is /.extra/tpm2-measure.log (REPORT-TPM-LOG), nil when the
	// initrd had none (or it was empty).
	TPMLog []byte
}

// ExtraFile is one entry under /.extra.
type ExtraFile struct {
	Path   string // absolute, e.g. /.extra/credentials/a.cred
	Dir    bool
	Other  string // for REPORT-EXTRA-OTHER: the file type
	Mode   uint32 // permission bits as stat(2) has them (0o7777 of st_mode)
	Size   int64  // files only
	SHA256 string // files only, hex
}

// Extras returns the REPORT-EXTRA entries by path.
func (r *Report) Extras() map[string]ExtraFile {
	m := map[string]ExtraFile{}
	for _, e := range r.Extra {
		m[e.Path] = e
	}
	return m
}

// ParseReport parses the first REPORT-BEGIN ... REPORT-END in console
// output.
func ParseReport(console string) (*Report, error) {
	r := &Report{Markers: map[string]string{}, PCRs: PCRValues{}}
	var tpmLog strings.Builder
	in, end := false, false
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		// Kernel messages may share a line with the report; start at
		// the tag.
		i := strings.Index(line, "REPORT-")
		if i < 0 {
			continue
		}
		line = line[i:]
		if line == "REPORT-BEGIN" {
			in = true
			r.Lines = append(r.Lines, line)
			continue
		}
		if !in {
			continue
		}
		r.Lines = append(r.Lines, line)
		if line == "REPORT-END" {
			end = true
			break
		}
		tag, val, _ := strings.Cut(line, ": ")
		switch tag {
		case "REPORT-UNAME":
			r.Uname = val
		case "REPORT-CMDLINE":
			r.Cmdline = val
		case "REPORT-ERROR":
			r.Errors = append(r.Errors, val)
		case "REPORT-MARKER":
			name, first, _ := strings.Cut(val, " ")
			r.Markers[name] = first
		case "REPORT-TPM-BANKS", "REPORT-PCR":
			if err := r.parseTPM(tag, val); err != nil {
				return nil, fmt.Errorf("report line %q: %v", line, err)
			}
		case "REPORT-TPM-LOG":
			tpmLog.WriteString(val)
		case "REPORT-EXTRA", "REPORT-EXTRA-DIR", "REPORT-EXTRA-OTHER":
			f := strings.Fields(val)
			var e ExtraFile
			var err error
			switch {
			case tag == "REPORT-EXTRA" && len(f) == 4:
				e.Path, e.SHA256 = f[0], f[3]
				e.Mode, err = parseMode(f[1])
				if err == nil {
					e.Size, err = strconv.ParseInt(f[2], 10, 64)
				}
			case tag == "REPORT-EXTRA-DIR" && len(f) == 2:
				e.Path, e.Dir = f[0], true
				e.Mode, err = parseMode(f[1])
			case tag == "REPORT-EXTRA-OTHER" && len(f) == 3:
				e.Path, e.Other = f[0], f[2]
				e.Mode, err = parseMode(f[1])
			default:
				err = fmt.Errorf("wrong number of fields")
			}
			if err != nil {
				return nil, fmt.Errorf("report line %q: %v", line, err)
			}
			r.Extra = append(r.Extra, e)
		}
	}
	if !in {
		return nil, fmt.Errorf("no REPORT-BEGIN in the console output")
	}
	if !end {
		return nil, fmt.Errorf("no REPORT-END in the console output")
	}
	sort.SliceStable(r.Extra, func(i, j int) bool { return r.Extra[i].Path < r.Extra[j].Path })
	if tpmLog.Len() > 0 {
		b, err := base64.StdEncoding.DecodeString(tpmLog.String())
		if err != nil {
			return nil, fmt.Errorf("REPORT-TPM-LOG: %v", err)
		}
		r.TPMLog = b
	}
	return r, nil
}

// parseTPM reads a REPORT-TPM-BANKS or REPORT-PCR line's value.
func (r *Report) parseTPM(tag, val string) error {
	if tag == "REPORT-TPM-BANKS" {
		r.TPM, r.Banks = true, strings.Fields(val)
		return nil
	}
	return r.PCRs.set(val)
}

func parseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	return uint32(m), err
}

// Report waits for the report init's REPORT-BEGIN ... REPORT-END and
// parses it. It fails the test on timeout or a malformed report.
func (v *VM) Report(timeout time.Duration) *Report {
	v.t.Helper()
	m := v.Expect(`(?s)REPORT-BEGIN\n.*?REPORT-END\n`, timeout)
	r, err := ParseReport(m[0])
	if err != nil {
		v.t.Fatalf("%v\n%s", err, v.tail())
	}
	return r
}
