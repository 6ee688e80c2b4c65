package stub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/cpio"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Directories systemd-stub reads next to the UKI and on its partition.
const (
	globalAddons      = "/loader/addons"
	globalCredentials = "/loader/credentials"
	globalExtensions  = "/loader/extensions"
)

// extraDir is "<uki>.extra.d" with the boot counter removed from the name:
// foo+3-0.efi uses foo.efi.extra.d.
func extraDir(ukiPath string) string {
	dir, file := path.Split(ukiPath)
	if stripped, _, ok := bls.ParseCounter(file, ".efi"); ok {
		file = stripped
	}
	return dir + file + ".extra.d"
}

// sidecarFiles lists the regular files of dir whose names end in suffix
// (case-insensitive) and not in exclude, skipping what systemd-stub skips
// (names starting with '.', non-ASCII names, names over 255 bytes), sorted
// by byte order. A missing directory is no files.
func (b *builder) sidecarFiles(dir, suffix, exclude string) ([]string, error) {
	f, err := b.files.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.files.Display(dir), err)
	}
	var names []string
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || strings.HasPrefix(n, ".") || len(n) > 255 || !isASCII(n) {
			continue
		}
		if !hasSuffixFold(n, suffix) || (exclude != "" && hasSuffixFold(n, exclude)) {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

type addon struct {
	name string // path on the partition
	blob *Blob
	file *uki.File
}

// loadAddons reads /loader/addons/*.addon.efi, then <uki>.extra.d/*.addon.efi.
// An addon that is broken, built for another CPU (COFF machine) or for
// another kernel (.uname differs) is skipped with a note, as systemd-stub
// does.
func (b *builder) loadAddons(uname string) ([]addon, error) {
	var out []addon
	for _, dir := range []string{globalAddons, extraDir(b.target.UKI)} {
		names, err := b.sidecarFiles(dir, ".addon.efi", "")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			p := dir + "/" + n
			blob, f, verdict, err := b.openPE(p, uki.KindAddon)
			if err != nil {
				b.note("addon skipped: %v", err)
				continue
			}
			if m := f.Header.Machine; m.GOARCH() != runtime.GOARCH {
				// systemd-stub's load_addons: the firmware's LoadImage
				// refuses an image for another machine, and the addon
				// is ignored.
				blob.Close()
				b.note("addon %s skipped: built for %s, this machine is %s", p, m, runtime.GOARCH)
				continue
			}
			if verdict != nil && verdict.Status != authenticode.Trusted {
				if b.pol.enforce() {
					blob.Close()
					b.note("addon %s skipped: %s", p, verdict)
					continue
				}
				b.note("addon %s is %s; used because verification is not enforced", p, verdict)
			}
			if au, err := f.Uname(baseProfile(f)); err == nil && au != "" && uname != "" && au != uname {
				blob.Close()
				b.note("addon %s skipped: built for kernel %s, the UKI's is %s", p, au, uname)
				continue
			}
			out = append(out, addon{name: p, blob: blob, file: f})
		}
	}
	return out, nil
}

// sidecar describes one generated cpio archive (systemd-stub's table).
type sidecar struct {
	dir             string // "" for the UKI's .extra.d
	suffix, exclude string
	target          string // directory inside the initrd
	dirMode         uint32
	fileMode        uint32
	pcr             int
	description     string
}

var sidecars = []sidecar{
	{"", ".cred", "", ".extra/credentials", 0o500, 0o400, PCRKernelConfig, "Credentials initrd"},
	{globalCredentials, ".cred", "", ".extra/global_credentials", 0o500, 0o400, PCRKernelConfig, "Global credentials initrd"},
	{"", ".raw", ".confext.raw", ".extra/sysext", 0o555, 0o444, PCRSysexts, "System extension initrd"},
	{globalExtensions, ".raw", ".confext.raw", ".extra/global_sysext", 0o555, 0o444, PCRSysexts, "Global system extension initrd"},
	{"", ".confext.raw", "", ".extra/confext", 0o555, 0o444, PCRKernelConfig, "Configuration extension initrd"},
	{globalExtensions, ".confext.raw", "", ".extra/global_confext", 0o555, 0o444, PCRKernelConfig, "Global configuration extension initrd"},
}

// sidecars packs credentials and extensions into cpio archives, each
// measured as a whole into its PCR.
func (b *builder) sidecars() error {
	for _, sc := range sidecars {
		dir := sc.dir
		if dir == "" {
			dir = extraDir(b.target.UKI)
		}
		names, err := b.sidecarFiles(dir, sc.suffix, sc.exclude)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			continue
		}
		start := b.initrd.size
		h := b.hasher()
		w := cpio.NewWriter(io.MultiWriter(b.initrd, h))
		if err := w.Prefix(sc.target, sc.dirMode); err != nil {
			return err
		}
		for _, n := range names {
			if err := b.packFile(w, dir+"/"+n, sc.target+"/"+n, sc.fileMode); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		d := h.Sum()
		p := Piece{Description: sc.description + " (/" + sc.target + ")", Offset: start, Size: w.Len()}
		copy(p.SHA256[:], d[measure.SHA256])
		b.plan.Pieces = append(b.plan.Pieces, p)
		b.ipl(sc.pcr, sc.description, d, p.Size)
		if err := b.initrd.pad(); err != nil {
			return err
		}
	}
	return nil
}

// packFile streams one file from the partition into the archive.
func (b *builder) packFile(w *cpio.Writer, src, dst string, mode uint32) error {
	f, err := b.files.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := CheckSize(b.files.Display(src), st.Size(), b.pol.MaxSize); err != nil {
		return err
	}
	return w.File(dst, mode, st.Size(), f)
}

// measureAddonDevicetrees measures each addon's devicetree into PCR 12,
// global addons first, as systemd-stub's install_addon_devicetrees does
// (a tagged event, the addon's file name as description): a matching
// .dtbauto, else .dtb. kexec_file_load cannot install them, but the
// events are what the stub would have left, so PCR 12 matches.
func (b *builder) measureAddonDevicetrees(addons []addon) error {
	for _, a := range addons {
		prof := baseProfile(a.file)
		s := a.file.Section(uki.SectionDTB)
		if HasDTBAuto(prof) {
			c := ChooseDTBAuto(prof, b.pol.Hardware)
			switch {
			case c.Section != nil:
				s = c.Section
			case !c.Known:
				b.note("addon %s: cannot tell which .dtbauto section systemd-stub would choose (%s); PCR 12 may not match", a.name, c.Why)
			}
		}
		if s == nil {
			continue
		}
		d, err := b.hashSection(s)
		if err != nil {
			return fmt.Errorf("addon %s: %w", a.name, err)
		}
		b.tagged(measure.TagDevicetreeAddon, path.Base(a.name), d, s.Size())
		b.note("addon %s: %s measured into PCR 12 as systemd-stub does; not handed on: %s", a.name, s.Name, DTBNotHandedOn())
	}
	return nil
}
