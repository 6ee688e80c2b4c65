// Package blstest generates boot-entry trees for tests and runs bootctl
// (systemd's own implementation) on them as an oracle.
package blstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// Spec describes a generated entry, for tests that need to know.
type Spec struct {
	Dir  string // partition directory it was written to
	File string // file name, with the counter
	Type int
}

// Generator writes random but realistic trees.
type Generator struct {
	R *rand.Rand
	// NoBad keeps LEFT > 0 in counters (bootctl 252 does not sort entries
	// without tries last; systemd-boot does).
	NoBad bool
	used  map[string]bool
}

var (
	distros   = []string{"fedora", "debian", "arch", "ubuntu", "opensuse", "test", "linux", "rescue"}
	sortKeys  = []string{"fedora", "debian", "arch", "a", "b", "zz"}
	machines  = []string{"0f2a4c1e", "7d3b9e20", "aa00bb11"}
	titles    = []string{"Fedora Linux", "Debian GNU/Linux", "Arch Linux", "Test OS", "Rescue"}
	cmdlines  = []string{"", "quiet", "console=ttyS0 quiet", "root=UUID=6c4b5e1a rw", "rd.luks=0   splash"}
	releases  = []string{"1", "2", "10", "39", "40", "6.1.0-28", "6.1.0-9", "6.10.3", "6.9.12", "12~rc1", "12", "12.1", "2023.1", "2024^git3", "7-rc"}
	osFields  = []string{"PRETTY_NAME", "IMAGE_ID", "NAME", "ID", "IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID"}
	osQuoting = []string{"%s=%s\n", "%s=\"%s\"\n", "%s='%s'\n", "  %s=\"%s\"  \n"}
)

func (g *Generator) pick(list []string) string { return list[g.R.Intn(len(list))] }

// name returns a unique entry name: lower case, [a-z0-9.-] only and no
// leading zeros, so that no two ids compare equal as versions (bootctl's
// sort is not stable).
func (g *Generator) name(suffix string) string {
	if g.used == nil {
		g.used = map[string]bool{}
	}
	for {
		n := g.pick(distros) + "-" + fmt.Sprint(g.R.Intn(7)+1)
		for k := g.R.Intn(3); k > 0; k-- {
			n += "." + fmt.Sprint(g.R.Intn(30))
		}
		if g.R.Intn(3) == 0 {
			n += "-" + fmt.Sprint(g.R.Intn(300)+1) + "." + g.pick([]string{"fc39", "fc40", "el9", "x"})
		}
		if !g.used[n+suffix] {
			g.used[n+suffix] = true
			return n
		}
	}
}

func (g *Generator) counter() string {
	switch g.R.Intn(4) {
	case 0:
		lo := 0
		if g.NoBad {
			lo = 1
		}
		left := lo + g.R.Intn(12-lo)
		s := fmt.Sprintf("+%d", left)
		if g.R.Intn(3) == 0 {
			s = fmt.Sprintf("+%02d", left)
		}
		if g.R.Intn(2) == 0 {
			s += fmt.Sprintf("-%d", g.R.Intn(5))
		}
		return s
	}
	return ""
}

func (g *Generator) maybe(p int, v string) string {
	if g.R.Intn(100) < p {
		return v
	}
	return ""
}

// Type1 writes a type #1 entry (and the kernel it names) into dir.
func (g *Generator) Type1(dir string) Spec {
	file := g.name(".conf") + g.counter() + ".conf"
	var b strings.Builder
	if t := g.maybe(80, g.pick(titles)); t != "" {
		fmt.Fprintf(&b, "title %s\n", t)
	}
	if v := g.maybe(60, g.pick(releases)); v != "" {
		fmt.Fprintf(&b, "version\t%s\n", v)
	}
	if s := g.maybe(50, g.pick(sortKeys)); s != "" {
		fmt.Fprintf(&b, "sort-key %s\n", s)
	}
	if m := g.maybe(30, g.pick(machines)); m != "" {
		fmt.Fprintf(&b, "machine-id %s\n", m)
	}
	if g.R.Intn(4) == 0 {
		b.WriteString("# a comment\n\n")
	}
	fmt.Fprintf(&b, "linux /vmlinuz\n")
	for k := g.R.Intn(3); k > 0; k-- {
		fmt.Fprintf(&b, "options %s\n", g.pick(cmdlines[1:]))
	}
	if g.R.Intn(2) == 0 {
		fmt.Fprintf(&b, "initrd /initrd.img\n")
	}
	must(os.MkdirAll(filepath.Join(dir, "loader/entries"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "vmlinuz"), []byte("kernel"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "initrd.img"), []byte("initrd"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "loader/entries", file), []byte(b.String()), 0o644))
	return Spec{Dir: dir, File: file, Type: 1}
}

// OSRelease returns random os-release text that always names the OS, in
// the forms (osQuoting) that bootctl (systemd's env-file parser) and
// systemd-boot (line_get_key_value, which ukiboot follows) read alike: not
// "KEY = value", whose key systemd-boot reads as "KEY ".
func (g *Generator) OSRelease() string {
	var b strings.Builder
	named := false
	for _, f := range osFields {
		if g.R.Intn(100) >= 45 {
			continue
		}
		v := g.pick(releases)
		switch f {
		case "PRETTY_NAME", "NAME":
			v = g.pick(titles) + " " + g.pick(releases)
			named = true
		case "IMAGE_ID", "ID":
			v = g.pick(sortKeys)
			named = true
		}
		fmt.Fprintf(&b, g.pick(osQuoting), f, v)
	}
	if !named {
		fmt.Fprintf(&b, "ID=%s\n", g.pick(sortKeys))
	}
	return b.String()
}

// Type2 writes a UKI into dir/EFI/Linux.
func (g *Generator) Type2(dir string) Spec {
	file := g.name(".efi") + g.counter() + ".efi"
	secs := []ukitest.Section{ukitest.S(".osrel", g.OSRelease())}
	if c := g.pick(cmdlines); c != "" {
		if g.R.Intn(2) == 0 {
			c += "\n"
		}
		secs = append(secs, ukitest.S(".cmdline", c))
	}
	secs = append(secs, ukitest.S(".linux", "MZ kernel"))
	must(os.MkdirAll(filepath.Join(dir, "EFI/Linux"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "EFI/Linux", file), ukitest.UKI(secs...), 0o644))
	return Spec{Dir: dir, File: file, Type: 2}
}

// Tree writes n entries spread over esp and xbootldr.
func (g *Generator) Tree(esp, xbootldr string, n int) []Spec {
	var out []Spec
	for i := 0; i < n; i++ {
		dir := esp
		if xbootldr != "" && g.R.Intn(2) == 0 {
			dir = xbootldr
		}
		if g.R.Intn(5) < 3 {
			out = append(out, g.Type1(dir))
		} else {
			out = append(out, g.Type2(dir))
		}
	}
	return out
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// BootctlEntry is one entry of `bootctl list --json=short` (systemd 252).
type BootctlEntry struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	Title     string `json:"title"`
	ShowTitle string `json:"showTitle"`
	SortKey   string `json:"sortKey"`
	Version   string `json:"version"`
	Options   string `json:"options"`
	TriesLeft *int   `json:"triesLeft"`
	TriesDone *int   `json:"triesDone"`
}

// Bootctl lists the entries of esp (and xbootldr, if not "") with bootctl.
// bootctl insists on mount points, so each directory is bind-mounted onto
// itself for the call; that needs root. The test is skipped (failed under
// UKIBOOT_REQUIRE_TOOLS=1) when bootctl cannot run.
func Bootctl(t testing.TB, esp, xbootldr string) []BootctlEntry {
	t.Helper()
	bootctl := ukitest.Need(t, "bootctl")
	if os.Geteuid() != 0 {
		if os.Getenv(ukitest.RequireEnv) == "1" {
			t.Fatal("bootctl needs bind mounts, which need root")
		}
		t.Skip("bootctl needs bind mounts, which need root")
	}
	args := []string{"--esp-path=" + esp}
	dirs := []string{esp}
	if xbootldr != "" {
		args = append(args, "--boot-path="+xbootldr)
		dirs = append(dirs, xbootldr)
	}
	for _, d := range dirs {
		if err := syscall.Mount(d, d, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind mount %s: %v", d, err)
		}
		t.Cleanup(func() { syscall.Unmount(d, syscall.MNT_DETACH) })
	}
	cmd := exec.Command(bootctl, append(args, "list", "--json=short", "--no-pager")...)
	cmd.Env = append(os.Environ(), "SYSTEMD_RELAX_ESP_CHECKS=1", "SYSTEMD_RELAX_XBOOTLDR_CHECKS=1", "SYSTEMD_LOG_LEVEL=err")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bootctl %v: %v\n%s", args, err, stderr.String())
	}
	var entries []BootctlEntry
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var e BootctlEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("bootctl output: %v\n%s", err, out)
		}
		// Only entries from our directories (not ones reported by a
		// boot loader through EFI variables).
		if strings.HasPrefix(e.Path, esp+"/") || xbootldr != "" && strings.HasPrefix(e.Path, xbootldr+"/") {
			entries = append(entries, e)
		}
	}
	return entries
}
