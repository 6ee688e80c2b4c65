package integration

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"
	"github.com/u-root/u-root/pkg/cpio"

	"github.com/ukiboot/ukiboot/integration/internal/kmod"
)

// Tests of the harness itself; they need no VM.

func TestNewc(t *testing.T) {
	b, err := Newc([]File{
		{Name: "/init", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		{Name: "a/b/c.txt", Data: []byte("hello")},
		{Name: "a/link", Data: []byte("b/c.txt"), Mode: fs.ModeSymlink | 0o777},
		{Name: "dev/console", Data: []byte("5:1"), Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600},
		{Name: "empty", Mode: fs.ModeDir | 0o700},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", len(b))
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		name string
		mode uint64
		data string
	}
	want := []rec{
		{"init", cpio.S_IFREG | 0o755, "#!/bin/sh\n"},
		{"a", cpio.S_IFDIR | 0o755, ""},
		{"a/b", cpio.S_IFDIR | 0o755, ""},
		{"a/b/c.txt", cpio.S_IFREG | 0o644, "hello"},
		{"a/link", cpio.S_IFLNK | 0o777, "b/c.txt"},
		{"dev", cpio.S_IFDIR | 0o755, ""},
		{"dev/console", cpio.S_IFCHR | 0o600, ""},
		{"empty", cpio.S_IFDIR | 0o700, ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %v", len(recs), len(want), recs)
	}
	for i, w := range want {
		r := recs[i]
		var data []byte
		if r.ReaderAt != nil {
			data, _ = io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		}
		if r.Name != w.name || r.Mode != w.mode || string(data) != w.data {
			t.Errorf("record %d: %s %o %q, want %s %o %q", i, r.Name, r.Mode, data, w.name, w.mode, w.data)
		}
	}
	if recs[6].Rmajor != 5 || recs[6].Rminor != 1 {
		t.Errorf("dev/console: %d:%d", recs[6].Rmajor, recs[6].Rminor)
	}

	if _, err := Newc([]File{{Name: "x"}, {Name: "/x"}}); err == nil {
		t.Error("the same name twice: no error")
	}
}

func TestStage1Cmdline(t *testing.T) {
	for _, c := range []struct {
		extra string
		args  []string
		want  string
	}{
		{"", nil, "console=ttyS0 quiet panic=-1 no_timer_check"},
		{"testinit.waitdisk=1", []string{"-list"}, `console=ttyS0 quiet panic=-1 no_timer_check testinit.waitdisk=1 uroot.uinitargs="-list"`},
		{"", []string{"-auto", "-append", "a b", "-root", "/esp"}, `console=ttyS0 quiet panic=-1 no_timer_check uroot.uinitargs="-auto -append 'a b' -root /esp"`},
	} {
		if got := Stage1Cmdline(c.extra, c.args...); got != c.want {
			t.Errorf("Stage1Cmdline(%q, %q) =\n%s\nwant\n%s", c.extra, c.args, got, c.want)
		}
	}
}

func TestParseReport(t *testing.T) {
	console := "[    2.1] random: crng init done\n" +
		"REPORT-BEGIN\n" +
		"REPORT-UNAME: 6.1.0-56-amd64\n" +
		"REPORT-CMDLINE: console=ttyS0  two  spaces\n" +
		"REPORT-EXTRA-DIR: /.extra 0555\n" +
		"[    2.2] kernel noise REPORT-EXTRA: /.extra/a 0444 3 abc\n" +
		"REPORT-MARKER: marker-x first line here\n" +
		"REPORT-ERROR: something\n" +
		"REPORT-TPM-BANKS: sha1 sha256\n" +
		"REPORT-PCR: sha256 11 00ff\n" +
		"REPORT-TPM-LOG: aGVs\n" +
		"REPORT-TPM-LOG: bG8=\n" +
		"REPORT-END\n" +
		"REPORT-CMDLINE: after the end\n"
	r, err := ParseReport(console)
	if err != nil {
		t.Fatal(err)
	}
	if r.Uname != "6.1.0-56-amd64" || r.Cmdline != "console=ttyS0  two  spaces" {
		t.Errorf("uname %q cmdline %q", r.Uname, r.Cmdline)
	}
	want := []ExtraFile{{Path: "/.extra", Dir: true, Mode: 0o555}, {Path: "/.extra/a", Mode: 0o444, Size: 3, SHA256: "abc"}}
	if len(r.Extra) != 2 || r.Extra[0] != want[0] || r.Extra[1] != want[1] {
		t.Errorf("extra %+v, want %+v", r.Extra, want)
	}
	if r.Extras()["/.extra/a"].Size != 3 {
		t.Errorf("Extras: %+v", r.Extras())
	}
	if r.Markers["marker-x"] != "first line here" {
		t.Errorf("markers %q", r.Markers)
	}
	if !r.TPM || strings.Join(r.Banks, " ") != "sha1 sha256" || fmt.Sprintf("%x", r.PCRs["sha256"][11]) != "00ff" || string(r.TPMLog) != "hello" {
		t.Errorf("TPM %v banks %q PCRs %x log %q", r.TPM, r.Banks, r.PCRs, r.TPMLog)
	}
	if len(r.Errors) != 1 || len(r.Lines) != 12 {
		t.Errorf("errors %q lines %q", r.Errors, r.Lines)
	}

	for _, bad := range []string{
		"nothing",
		"REPORT-BEGIN\nREPORT-CMDLINE: x\n",
		"REPORT-BEGIN\nREPORT-EXTRA: /.extra/a 0444\nREPORT-END\n",
		"REPORT-BEGIN\nREPORT-PCR: sha256 11\nREPORT-END\n",
		"REPORT-BEGIN\nREPORT-TPM-LOG: !!\nREPORT-END\n",
	} {
		if _, err := ParseReport(bad); err == nil {
			t.Errorf("ParseReport(%q): no error", bad)
		}
	}
}

func TestWriteModulesLoad(t *testing.T) {
	for _, c := range []struct {
		name string
		list []kmod.Copied // what CopySet copied
		want string        // the module lines of the .conf
	}{
		{"each requested module that was copied, as requested",
			[]kmod.Copied{{Name: "virtio_ring", Path: "kernel/drivers/virtio/virtio_ring.ko"}, {Name: "virtio_pci", Path: "kernel/drivers/virtio/virtio_pci.ko"}, {Name: "nls_iso8859_1", Path: "kernel/fs/nls/nls_iso8859_1.ko"}},
			"virtio_pci\nnls_iso8859-1\n"},
		{"a built-in module is not listed", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, n, err := writeModulesLoad(t.TempDir(), c.list)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.SplitAfter(string(b), "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "") != c.want || n != len(got) {
				t.Errorf("%s (%d modules):\n%s\nwant the modules:\n%s", p, n, b, c.want)
			}
		})
	}
}

func TestQEMUOptions(t *testing.T) {
	dir := t.TempDir()
	a := WriteFile(t, "a,1.img", nil)
	b := filepath.Join(dir, "b.img")
	if err := os.WriteFile(b, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := qemu.OptionsFor(qemu.ArchAMD64, qemu.WithQEMUCommand("qemu-system-x86_64"),
		VirtioBlock(a), VirtioBlock(b),
		SMBIOSStrings("io.systemd.stub.kernel-cmdline-extra=a,b"),
		SecureBootOVMF("CODE.fd", "VARS.fd"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := o.Cmdline()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"qemu-system-x86_64", "-nographic",
		"-drive", "file=" + strings.ReplaceAll(a, ",", ",,") + ",format=raw,if=none,cache=unsafe,id=vd0", "-device", "virtio-blk-pci,drive=vd0",
		"-drive", "file=" + b + ",format=raw,if=none,cache=unsafe,id=vd1", "-device", "virtio-blk-pci,drive=vd1",
		"-smbios", "type=11,value=io.systemd.stub.kernel-cmdline-extra=a,,b",
		"-machine", "smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on",
		"-drive", "if=pflash,format=raw,unit=0,file=CODE.fd,readonly=on",
		"-drive", "if=pflash,format=raw,unit=1,file=VARS.fd",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("qemu command line:\n%q\nwant\n%q", got, want)
	}

	if _, err := qemu.OptionsFor(qemu.ArchAMD64, VirtioBlock(filepath.Join(dir, "missing.img"))); err == nil || !strings.Contains(err.Error(), "missing.img") {
		t.Errorf("a missing disk image: %v", err)
	}
}

func TestConsoleLog(t *testing.T) {
	t.Setenv(LogDirEnv, t.TempDir())
	l, err := newConsoleLog(t)
	if err != nil {
		t.Fatal(err)
	}
	l.header("qemu -x")
	for _, s := range []string{"SeaBIOS\r\nBoo", "ting\r\n", "done"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.footer(1500*time.Millisecond, "exit status 0")
	if got, want := l.text(), "SeaBIOS\nBooting\ndone"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	b, err := os.ReadFile(l.path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^# qemu -x\n +\d+\.\d\d\| SeaBIOS\r\n +\d+\.\d\d\| Booting\r\n +\d+\.\d\d\| done\n# qemu exited after 1\.5s: exit status 0\n$`).Match(b) {
		t.Errorf("log file:\n%s", b)
	}
	if filepath.Base(l.path) != "TestConsoleLog.1.log" {
		t.Errorf("log file name %s", l.path)
	}
	second, err := newConsoleLog(t)
	if err != nil {
		t.Fatal(err)
	}
	second.Close()
	if filepath.Base(second.path) != "TestConsoleLog.2.log" {
		t.Errorf("the second boot's log file %s", second.path)
	}
}

func TestLineEnd(t *testing.T) {
	for _, c := range []struct {
		buf  string
		want bool
	}{
		{"", false},
		{"partial", false},
		{"a line\n", true},
		{"a line\r\n", true},
		{"a line\nand more", false},
	} {
		if got := (lineEnd{}).Match(bytes.NewBufferString(c.buf)); got != c.want {
			t.Errorf("lineEnd.Match(%q) = %v, want %v", c.buf, got, c.want)
		}
	}
	if (lineEnd{}).Match("not a buffer") {
		t.Error("lineEnd matched a string")
	}
}
