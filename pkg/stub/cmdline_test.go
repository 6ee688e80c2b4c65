package stub_test

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// event is one expected PCR 12 command-line measurement: the text,
// measured as UTF-16LE with the NUL.
type event struct {
	desc string // "" for the text itself
	text string
}

// cmdlineCase is one boot of entry id under pol: the command line the
// kernel gets and the PCR 12 events on the way.
type cmdlineCase struct {
	name, id string
	pol      stub.Policy
	cmdline  string
	want     []event
}

func runCmdlineCases(t *testing.T, esp string, cases []cmdlineCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := build(t, target(t, esp, c.id), c.pol)
			if p.Cmdline != c.cmdline {
				t.Errorf("cmdline %q, want %q", p.Cmdline, c.cmdline)
			}
			checkPCR12(t, p, c.want)
		})
	}
}

// pcr12 lists the plan's PCR 12 measurements as "description" strings and
// checks each digest against the UTF-16 of want's text.
func checkPCR12(t *testing.T, p *stub.Plan, want []event) {
	t.Helper()
	var got []measure.Event
	for _, m := range p.Events {
		if m.PCR == stub.PCRKernelConfig {
			got = append(got, m)
		}
	}
	if len(got) != len(want) {
		var d []string
		for _, m := range got {
			d = append(d, fmt.Sprintf("%q", m.Description))
		}
		t.Fatalf("PCR 12 events: %s; want %d: %+v", strings.Join(d, ", "), len(want), want)
	}
	for i, w := range want {
		desc := w.desc
		if desc == "" {
			desc = w.text
		}
		if got[i].Description != desc || sha(got[i]) != sha256.Sum256(utf16z(w.text)) {
			t.Errorf("PCR 12 event %d: %q, want %q measured as UTF-16 %q", i, got[i].Description, desc, w.text)
		}
	}
}

func build(t *testing.T, tg stub.Target, pol stub.Policy) *stub.Plan {
	t.Helper()
	p, err := stub.Build(tg, pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// systemd-boot's initrd_prepare and call_image_start: a type #1 "linux"
// entry's kernel gets initrd=<path> (backslashes, as on the partition)
// for every initrd line, empty files included, then the options, then
// SMBIOS io.systemd.boot.kernel-cmdline-extra; that whole string is
// measured into PCR 12 once. Empty initrds add no bytes.
func TestType1LinuxCmdlineLikeSystemdBoot(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "vmlinuz", []byte("KERNEL"))
	write(t, esp, "boot/one.img", []byte("ONE"))
	write(t, esp, "empty.img", nil)
	write(t, esp, "two.img", []byte("TWO!"))
	write(t, esp, "loader/entries/full.conf", []byte("linux /vmlinuz\ninitrd /boot/one.img\ninitrd /empty.img\ninitrd two.img\noptions root=/dev/vda2\noptions quiet\n"))
	write(t, esp, "loader/entries/bare.conf", []byte("linux /vmlinuz\n"))
	write(t, esp, "loader/entries/initrdonly.conf", []byte("linux /vmlinuz\ninitrd /empty.img\n"))
	const full = `initrd=\boot\one.img initrd=\empty.img initrd=\two.img root=/dev/vda2 quiet`
	for _, c := range []struct {
		name, id string
		pol      stub.Policy
		cmdline  string
		initrd   string
	}{
		{"initrds before the options, empty ones too", "full.conf", stub.Policy{}, full, "ONE\x00TWO!"},
		{"SMBIOS boot extra after the options, then -append", "full.conf",
			stub.Policy{SMBIOS: stub.SMBIOSExtra{Boot: "boot=1", Stub: "stub=1"}, Append: "single"}, full + " boot=1 single", "ONE\x00TWO!"},
		{"the menu's edit replaces the options, not the initrds", "full.conf",
			stub.Policy{Cmdline: "init=/bin/sh", CmdlineSet: true}, `initrd=\boot\one.img initrd=\empty.img initrd=\two.img init=/bin/sh`, "ONE\x00TWO!"},
		{"nothing to pass, nothing measured", "bare.conf", stub.Policy{}, "", ""},
		{"SMBIOS boot extra alone", "bare.conf", stub.Policy{SMBIOS: stub.SMBIOSExtra{Boot: "boot=1"}}, "boot=1", ""},
		{"an empty initrd alone", "initrdonly.conf", stub.Policy{}, `initrd=\empty.img`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := build(t, target(t, esp, c.id), c.pol)
			if p.Cmdline != c.cmdline {
				t.Errorf("cmdline %q, want %q", p.Cmdline, c.cmdline)
			}
			var want []event
			if c.cmdline != "" {
				want = []event{{text: c.cmdline}}
			}
			checkPCR12(t, p, want)
			var initrd string
			if p.Initrd != nil {
				initrd = string(readAll(t, p.Initrd))
			}
			if initrd != c.initrd {
				t.Errorf("initrd %q, want %q", initrd, c.initrd)
			}
		})
	}
}

// ukiboot stands in for systemd-boot and systemd-stub: the boot loader
// measures the load options it passes (call_image_start: "@N" in front for
// a profile above 0), then the stub measures the profile (measure_profile)
// and the arguments it uses (settle_command_line).
func TestLoaderAndStubMeasureOptions(t *testing.T) {
	esp := t.TempDir()
	uki := filepath.Join(esp, "EFI/Linux/multi.efi")
	write(t, esp, "EFI/Linux/multi.efi", ukitest.UKI(
		ukitest.S(".osrel", "ID=multi\n"), ukitest.S(".cmdline", "base"), ukitest.S(".linux", "KERNEL"),
		ukitest.S(".profile", "ID=default\n"),
		ukitest.S(".profile", "ID=rescue\n"), ukitest.S(".cmdline", "rescue"),
	))
	write(t, esp, "loader/entries/opts.conf", []byte("uki /EFI/Linux/multi.efi\noptions quiet  splash\n"))
	write(t, esp, "loader/entries/prof.conf", []byte("uki /EFI/Linux/multi.efi\nprofile 1\noptions quiet\n"))
	write(t, esp, "loader/entries/at.conf", []byte("uki /EFI/Linux/multi.efi\noptions @1 quiet\n"))
	write(t, esp, "loader/entries/noopts.conf", []byte("uki /EFI/Linux/multi.efi\n"))
	enforce := trusting(t, uki)
	runCmdlineCases(t, esp, []cmdlineCase{
		{"type #1 uki options: loader, then stub", "opts.conf", stub.Policy{}, "quiet  splash",
			[]event{{text: "quiet  splash"}, {text: "quiet  splash"}}},
		{"enforced with a .cmdline: the loader measures, the stub drops them", "opts.conf", stub.Policy{Verify: enforce}, "base",
			[]event{{text: "quiet  splash"}}},
		{"type #1 uki with a profile: @1 and the options, the profile, the options", "prof.conf", stub.Policy{}, "quiet",
			[]event{{text: "@1 quiet"}, {"1", "1"}, {text: "quiet"}}},
		{"options starting with @1 select profile 1 in the stub", "at.conf", stub.Policy{}, "quiet",
			[]event{{text: "@1 quiet"}, {"1", "1"}, {text: "quiet"}}},
		{"type #2 profile: @1 alone, then the profile", "multi.efi@rescue", stub.Policy{}, "rescue",
			[]event{{text: "@1"}, {"1", "1"}}},
		{"type #2 profile edited in the menu: @1 and the edit", "multi.efi@rescue", stub.Policy{Cmdline: "edited", CmdlineSet: true}, "edited",
			[]event{{text: "@1 edited"}, {"1", "1"}, {text: "edited"}}},
		{"type #2 default profile: nothing", "multi.efi", stub.Policy{}, "base", nil},
		{"type #1 uki without options: nothing", "noopts.conf", stub.Policy{}, "base", nil},
	})
}

// systemd-stub's process_arguments ignores load options with a control
// character anywhere before the NUL (profile 0, .cmdline used; the boot
// loader measured them already); every text goes through UTF-16
// (xstrn8_to_16), which drops characters outside the BMP before anything
// is measured.
func TestStubArgumentsLikeSystemdStub(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".cmdline", "ro emoji=\U0001F600x"), ukitest.S(".linux", "K")))
	write(t, esp, "loader/entries/tab.conf", []byte("uki /EFI/Linux/a.efi\noptions quiet\tsplash\n"))
	write(t, esp, "loader/entries/ctl.conf", []byte("uki /EFI/Linux/a.efi\noptions quiet\x01\n"))
	write(t, esp, "loader/entries/del.conf", []byte("uki /EFI/Linux/a.efi\noptions quiet\x7fsplash\n"))
	write(t, esp, "loader/entries/astral.conf", []byte("uki /EFI/Linux/a.efi\noptions a=\U0001F600b \u00e9\n"))
	write(t, esp, "loader/entries/at.conf", []byte("uki /EFI/Linux/a.efi\noptions @x quiet\n"))
	runCmdlineCases(t, esp, []cmdlineCase{
		{"a tab: arguments ignored, .cmdline without its astral character", "tab.conf", stub.Policy{}, "ro emoji=x", []event{{text: "quiet\tsplash"}}},
		{"another control character: ignored", "ctl.conf", stub.Policy{}, "ro emoji=x", []event{{text: "quiet\x01"}}},
		{"DEL is no reason to ignore them; it becomes a space", "del.conf", stub.Policy{}, "quiet splash", []event{{text: "quiet\x7fsplash"}, {text: "quiet splash"}}},
		{"characters outside the BMP dropped before measuring", "astral.conf", stub.Policy{}, "a=b \u00e9", []event{{text: "a=b \u00e9"}, {text: "a=b \u00e9"}}},
		{"@ without a number is an argument", "at.conf", stub.Policy{}, "@x quiet", []event{{text: "@x quiet"}, {text: "@x quiet"}}},
	})
}

// systemd-stub's load_addons joins the addons' command lines with a space
// before each one unless nothing came before, so an addon whose .cmdline
// is only whitespace still adds its space; cmdline_append_and_measure_addons
// then trims the whole and measures it once. Then SMBIOS
// io.systemd.stub.kernel-cmdline-extra, mangled, is its own PCR 12 event
// (cmdline_append_and_measure_smbios), under enforcement too; -append
// comes last.
func TestAddonAndSMBIOSCmdlineLikeSystemdStub(t *testing.T) {
	esp := t.TempDir()
	ukiPath := filepath.Join(esp, "EFI/Linux/a.efi")
	write(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "K")))
	addons := map[string]string{"a": "a=1", "b": " \t ", "c": "c=1", "d": "\n"}
	var files []string
	for n, cl := range addons {
		write(t, esp, "loader/addons/"+n+".addon.efi", ukitest.UKI(ukitest.S(".cmdline", cl)))
		files = append(files, filepath.Join(esp, "loader/addons/"+n+".addon.efi"))
	}
	write(t, esp, "loader/entries/opts.conf", []byte("uki /EFI/Linux/a.efi\noptions quiet\n"))
	enforce := trusting(t, append(files, ukiPath)...)
	smbios := stub.SMBIOSExtra{Stub: " x=1\ty=\U0001F600 ", Boot: "boot=1"}
	runCmdlineCases(t, esp, []cmdlineCase{
		{"whitespace-only addons keep their separator", "a.efi", stub.Policy{}, "ro a=1  c=1", []event{{text: "a=1  c=1"}}},
		{"SMBIOS stub extra after the addons, -append last", "a.efi", stub.Policy{SMBIOS: smbios, Append: "z"}, "ro a=1  c=1 x=1 y= z",
			[]event{{text: "a=1  c=1"}, {text: "x=1 y="}, {text: "z"}}},
		{"SMBIOS stub extra under enforcement too", "a.efi", stub.Policy{SMBIOS: smbios, Verify: enforce}, "ro a=1  c=1 x=1 y=",
			[]event{{text: "a=1  c=1"}, {text: "x=1 y="}}},
		{"after the caller's arguments", "opts.conf", stub.Policy{SMBIOS: smbios}, "quiet a=1  c=1 x=1 y=",
			[]event{{text: "quiet"}, {text: "quiet"}, {text: "a=1  c=1"}, {text: "x=1 y="}}},
		{"only whitespace: nothing", "a.efi", stub.Policy{SMBIOS: stub.SMBIOSExtra{Stub: " \t"}}, "ro a=1  c=1", []event{{text: "a=1  c=1"}}},
	})
}

// ConsoleAppend (systemd's cmdline_append_console, development branch
// after v260): a final command line without console= gets the console,
// unmeasured; one that names a console keeps it.
func TestConsoleAppend(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/quiet.efi", ukitest.UKI(ukitest.S(".osrel", "ID=q\n"), ukitest.S(".cmdline", "quiet xconsole=1"), ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/first.efi", ukitest.UKI(ukitest.S(".osrel", "ID=f\n"), ukitest.S(".cmdline", "console=tty0 quiet"), ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/last.efi", ukitest.UKI(ukitest.S(".osrel", "ID=l\n"), ukitest.S(".cmdline", "quiet console=hvc0"), ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/none.efi", ukitest.UKI(ukitest.S(".osrel", "ID=n\n"), ukitest.S(".linux", "K")))
	write(t, esp, "vmlinuz", []byte("K"))
	write(t, esp, "loader/entries/k.conf", []byte("linux /vmlinuz\noptions root=/dev/vda\n"))
	serial := stub.Policy{Console: "ttyS0,115200"}
	for _, c := range []struct {
		name, id string
		pol      stub.Policy
		cmdline  string
	}{
		{"no console=: appended (xconsole= is not one)", "quiet.efi", serial, "quiet xconsole=1 console=ttyS0,115200"},
		{"console= first: kept", "first.efi", serial, "console=tty0 quiet"},
		{"console= after a space: kept", "last.efi", serial, "quiet console=hvc0"},
		{"no command line at all", "none.efi", serial, "console=ttyS0,115200"},
		{"a type #1 linux entry too", "k.conf", serial, "root=/dev/vda console=ttyS0,115200"},
		{"-append naming a console", "quiet.efi", stub.Policy{Console: "ttyS0,115200", Append: "console=ttyS1"}, "quiet xconsole=1 console=ttyS1"},
		{"no console to give", "quiet.efi", stub.Policy{}, "quiet xconsole=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := build(t, target(t, esp, c.id), c.pol)
			if p.Cmdline != c.cmdline {
				t.Errorf("cmdline %q, want %q", p.Cmdline, c.cmdline)
			}
			for _, m := range p.Events {
				if strings.Contains(m.Description, "console=ttyS0") {
					t.Errorf("the appended console was measured: %+v", m)
				}
			}
		})
	}
}
