package bls

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Options controls Load.
type Options struct {
	// Vars gives LoaderEntryOneShot, LoaderEntryDefault and
	// LoaderEntryLastBooted; nil means no EFI variables.
	Vars Vars
	// Display, when set, names a file on a partition as the user knows
	// it in messages: dir is the partition's path as given to Load, name
	// the file's path on it ("/EFI/Linux/x.efi").
	Display func(dir, name string) string
	// Arch is the EFI architecture name ("x64", "aa64", ...) that an
	// entry's "architecture" must match; "" means this machine's.
	Arch string
	// WrapReader, when set, wraps the reader through which each UKI's
	// headers and small sections are read while entries are loaded; name
	// is the file as Display names it. It is a test and instrumentation
	// hook (counting what the scanner reads); nil in production.
	WrapReader func(name string, r io.ReaderAt) io.ReaderAt
	// Extra are type #1 entries that do not live in a file: SMBIOS
	// io.systemd.boot.entries-extra:NAME.conf=CONTENT strings.
	Extra []ExtraEntry
	// NetBoot says that the caller can boot from the network: type #1
	// entries with an absolute http:// or https:// uki-url are listed and
	// bootable. Without it they are hidden.
	NetBoot bool
	// CheckURL, when set, checks a uki-url as the network code will read
	// it and returns how messages name it (without password and
	// fragment); an error makes the entry invalid. nil: an absolute
	// http:// or https:// URL is enough.
	CheckURL func(raw string) (name string, err error)
	// URLs are UKIs on the network (ukiboot's -url): listed before the
	// entries of the partitions, in the order given, the first bootable
	// one the default.
	URLs []NetUKI
}

// ExtraEntry is a type #1 entry given as text: Name is the file name it
// stands for ("NAME.conf"), Content its lines.
type ExtraEntry struct {
	Name    string
	Content []byte
}

// readUKI reads the headers of the UKI f, named name in messages,
// through o.WrapReader when set.
func (o Options) readUKI(f io.ReaderAt, size int64, name string) (*uki.File, error) {
	r := f
	if o.WrapReader != nil {
		r = o.WrapReader(name, f)
	}
	return uki.Read(r, size, name, uki.KindUKI)
}

// EFIArch returns the EFI architecture name of a Go GOARCH.
func EFIArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "ia32"
	case "arm64":
		return "aa64"
	case "arm":
		return "arm"
	case "riscv64":
		return "riscv64"
	case "loong64":
		return "loongarch64"
	}
	return goarch
}

// Config is everything found on the partitions: entries in menu order,
// loader.conf and the default entry.
type Config struct {
	Roots []*Root // the partitions' file trees, in the order given
	// Entries are the entries systemd-boot lists, in menu order; some may
	// be invalid (listed, not bootable).
	Entries []*Entry
	// Hidden are the entries systemd-boot does not list (StatusHidden,
	// the reason in Err), in the order found: for -list -v only. Nothing
	// that chooses, counts or boots entries looks at them.
	Hidden []*Entry
	Loader *LoaderConf
	// Default is the index of the default entry, -1 if nothing can boot.
	Default int
	// DefaultSource says what chose the default: "-url"
	// (DefaultSourceURL), "LoaderEntryOneShot", "LoaderEntryDefault",
	// "LoaderEntryLastBooted", "loader.conf", or "first entry".
	DefaultSource string
	// Vars is what was read of the variables that choose the default.
	Vars LoaderVars
	// Warnings are problems that hid nothing (unreadable directories,
	// ignored loader.conf lines).
	Warnings []string
}

// Close releases the partitions.
func (c *Config) Close() error {
	var errs []error
	for _, p := range c.Roots {
		errs = append(errs, p.root.Close())
	}
	return errors.Join(errs...)
}

// EntriesDir (type #1 *.conf) and Type2Dir (type #2 *.efi) are where
// entries are looked for on each partition.
const (
	EntriesDir = "/loader/entries"
	Type2Dir   = "/EFI/Linux"
)

const (
	loaderConf   = "/loader/loader.conf"
	maxEntrySize = 64 << 10
)

// Load finds the entries on the given partition mount points (the ESP
// first, then the XBOOTLDR of the ESP's disk), orders them and picks the
// default. loader.conf is read from the first partition, the ESP, only: as
// systemd-boot's config_load_defaults reads it from the partition it was
// started from, never from XBOOTLDR (a loader.conf elsewhere is reported
// in Warnings and ignored). A partition that cannot be opened is an error;
// a broken entry is listed with StatusInvalid.
func Load(paths []string, o Options) (*Config, error) {
	if o.Arch == "" {
		o.Arch = EFIArch(runtime.GOARCH)
	}
	c := &Config{Default: -1}
	seen := map[[2]uint64]bool{}
	for _, p := range paths {
		r, err := os.OpenRoot(p)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("partition %s: %w", p, unwrapPathError(err))
		}
		if id, ok := fileID(r); ok {
			if seen[id] {
				r.Close()
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: same directory as an earlier partition, skipped", p))
				continue
			}
			seen[id] = true
		}
		c.Roots = append(c.Roots, &Root{Path: p, root: r, display: o.Display})
	}
	for i, part := range c.Roots {
		c.readLoaderConf(part, i == 0)
		c.Entries = append(c.Entries, loadType1(c, part, o)...)
		c.Entries = append(c.Entries, loadType2(c, part, o)...)
	}
	var esp *Root
	if len(c.Roots) > 0 {
		esp = c.Roots[0]
	}
	c.Entries = append(c.Entries, loadExtra(esp, o)...)
	urls := loadURLs(c.Entries, o)
	var hidden []*Entry
	c.Entries, c.Hidden = splitHidden(c.Entries)
	urls, hidden = splitHidden(urls)
	c.Hidden = append(c.Hidden, hidden...)
	for _, e := range urls {
		if e.Warning != nil {
			c.Warnings = append(c.Warnings, e.Warning.Error())
		}
	}
	if c.Loader == nil {
		c.Loader = &LoaderConf{Editor: true}
	}
	Sort(c.Entries)
	c.Entries = append(urls, c.Entries...)
	MakeShowTitles(c.Entries)
	if err := c.pickDefault(o.Vars, len(urls)); err != nil {
		c.Warnings = append(c.Warnings, err.Error())
	}
	return c, nil
}

// readLoaderConf reads loader.conf from the ESP; on any other partition
// it only says that one there is ignored.
func (c *Config) readLoaderConf(part *Root, esp bool) {
	if !esp {
		if f, err := part.Open(loaderConf); err == nil {
			f.Close()
			c.Warnings = append(c.Warnings, part.Display(loaderConf)+": ignored: loader.conf is read from the ESP (the first partition) only")
		}
		return
	}
	b, err := part.ReadFile(loaderConf, maxEntrySize)
	switch {
	case err == nil:
		c.Loader = ParseLoaderConf(part.Display(loaderConf), b)
		c.Warnings = append(c.Warnings, c.Loader.Warnings...)
	case !errors.Is(err, fs.ErrNotExist):
		c.Warnings = append(c.Warnings, err.Error())
	}
}

// listDir returns the regular files of dir on the partition that name
// entries ending in suffix (skipName), sorted by name.
func listDir(c *Config, part *Root, dir, suffix string) []string {
	f, err := part.Open(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.Warnings = append(c.Warnings, err.Error())
		}
		return nil
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %v", part.Display(dir), err))
	}
	var names []string
	for _, de := range des {
		if de.Type().IsRegular() && !skipName(de.Name(), suffix) {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func skipName(name, suffix string) bool {
	return strings.HasPrefix(name, ".") || !hasSuffixFold(name, suffix) ||
		len(name) >= 5 && strings.EqualFold(name[:5], "auto-")
}

func newEntry(part *Root, dir, name, suffix string, t Type) *Entry {
	e := &Entry{Type: t, Root: part, Path: dir + "/" + name, FileName: name, Status: StatusOK, TriesLeft: -1, TriesDone: -1}
	e.ID = strings.ToLower(name)
	if stripped, cnt, ok := ParseCounter(name, suffix); ok {
		e.Counter = &cnt
		e.TriesLeft = cnt.Left
		if cnt.HasDone {
			e.TriesDone = cnt.Done
		}
		// boot.c: boot_entry_parse_tries makes the id of a counted file
		// the name before the '+' and suffix as given (".conf", ".efi");
		// boot_entry_add_type1 lower-cases it afterwards, type #2 does not.
		e.ID = stripped[:len(stripped)-len(suffix)] + suffix
		if t == Type1 {
			e.ID = strings.ToLower(e.ID)
		}
	}
	return e
}

// splitHidden separates the entries systemd-boot does not list from
// the others, keeping the order.
func splitHidden(entries []*Entry) (shown, hidden []*Entry) {
	for _, e := range entries {
		if e.Status == StatusHidden {
			hidden = append(hidden, e)
		} else {
			shown = append(shown, e)
		}
	}
	return shown, hidden
}
