package bls

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Partition is a mounted ESP or XBOOTLDR partition (or a directory standing
// in for one).
type Partition struct {
	Path string // where it is mounted
	root *os.Root
	// display names a file on the partition as the user knows it
	// (Options.Display); nil means Path joined with the name.
	display func(dir, name string) string
}

// Display names the file name (relative to the partition, "/EFI/...") as
// the user knows it, for messages: "vda1 (ESP):/EFI/Linux/x.efi" for a
// partition the caller mounted in a private directory, else the path on
// this machine.
func (p *Partition) Display(name string) string {
	if p.display != nil {
		return p.display(p.Path, name)
	}
	return strings.TrimSuffix(p.Path, "/") + name
}

// Open opens a file named by an entry, relative to the partition. Paths
// that are not normalized, and symlinks that leave the partition, are
// refused.
func (p *Partition) Open(name string) (*os.File, error) {
	clean, err := normalizePath(name)
	if err != nil {
		return nil, err
	}
	full := p.Display(clean)
	// O_NONBLOCK: opening a FIFO or device must not hang the boot.
	f, err := p.root.OpenFile(strings.TrimPrefix(clean, "/"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: full, Err: unwrapPathError(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: full, Err: errors.New("not a regular file or directory")}
	}
	return f, nil
}

// ReadFile reads a small file named by an entry.
func (p *Partition) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := p.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p.Display(name))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", p.Display(name), st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", p.Display(name), err)
	}
	return b, nil
}

// unwrapPathError drops the *PathError wrapper (whose path is relative to
// the root) and keeps the reason.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

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
	Partitions []*Partition
	Entries    []*Entry
	Loader     *LoaderConf
	// Default is the index of the default entry, -1 if nothing can boot.
	Default int
	// DefaultSource says what chose the default: "LoaderEntryOneShot",
	// "LoaderEntryDefault", "LoaderEntryLastBooted", "loader.conf", or
	// "first entry".
	DefaultSource string
	// OneShot is the LoaderEntryOneShot value that was honoured, if any.
	OneShot string
	// Warnings are problems that hid nothing (unreadable directories,
	// ignored loader.conf lines).
	Warnings []string
}

// Close releases the partitions.
func (c *Config) Close() error {
	var errs []error
	for _, p := range c.Partitions {
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

// Load finds the entries on the given partition mount points (ESP first,
// then XBOOTLDR), orders them and picks the default. loader.conf is read
// from the first partition that has one. A partition that cannot be opened
// is an error; a broken entry is listed with StatusInvalid.
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
		c.Partitions = append(c.Partitions, &Partition{Path: p, root: r, display: o.Display})
	}
	for _, part := range c.Partitions {
		if c.Loader == nil {
			if b, err := part.ReadFile(loaderConf, maxEntrySize); err == nil {
				c.Loader = ParseLoaderConf(part.Display(loaderConf), b)
				c.Warnings = append(c.Warnings, c.Loader.Warnings...)
			} else if !errors.Is(err, fs.ErrNotExist) {
				c.Warnings = append(c.Warnings, err.Error())
			}
		}
		c.Entries = append(c.Entries, loadType1(c, part, o)...)
		c.Entries = append(c.Entries, loadType2(c, part)...)
	}
	if c.Loader == nil {
		c.Loader = &LoaderConf{Editor: true}
	}
	Sort(c.Entries)
	MakeShowTitles(c.Entries)
	if err := c.pickDefault(o.Vars); err != nil {
		c.Warnings = append(c.Warnings, err.Error())
	}
	return c, nil
}

// listDir returns the regular files of dir on the partition, sorted by name.
func listDir(c *Config, part *Partition, dir string) []string {
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
		if de.Type().IsRegular() {
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

func newEntry(part *Partition, dir, name, suffix string, t Type) *Entry {
	e := &Entry{Type: t, Partition: part, Path: dir + "/" + name, FileName: name, Status: StatusOK, TriesLeft: -1, TriesDone: -1}
	id := name
	if stripped, cnt, ok := ParseCounter(name, suffix); ok {
		id = stripped
		e.Counter = &cnt
		e.TriesLeft = cnt.Left
		if cnt.HasDone {
			e.TriesDone = cnt.Done
		}
	}
	e.ID = strings.ToLower(id)
	return e
}

func loadType1(c *Config, part *Partition, o Options) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, EntriesDir) {
		if skipName(name, ".conf") {
			continue
		}
		e := newEntry(part, EntriesDir, name, ".conf", Type1)
		data, err := part.ReadFile(e.Path, maxEntrySize)
		if err != nil {
			e.Status, e.Err = StatusInvalid, err
			e.Title = name
			out = append(out, e)
			continue
		}
		parseType1(e, data)
		if e.Architecture != "" && !strings.EqualFold(e.Architecture, o.Arch) {
			continue // for another CPU: systemd-boot does not show it
		}
		checkType1(e)
		out = append(out, e)
	}
	return out
}

// checkType1 decides whether a type #1 entry can boot: exactly one of
// linux, efi and uki; every file it names present; efi must be a UKI.
func checkType1(e *Entry) {
	n := 0
	for _, s := range []string{e.Linux, e.EFI, e.UKIKey} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		e.invalid("no linux, efi or uki key: nothing to boot")
		return
	case n > 1:
		e.invalid("more than one of linux, efi and uki")
		return
	}
	part := e.Partition
	exists := func(key, p string) bool {
		f, err := part.Open(p)
		if err != nil {
			e.invalid("%s %s: %v", key, p, unwrapPathError(err))
			return false
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			e.invalid("%s %s: not a regular file", key, p)
			return false
		}
		return true
	}
	if e.Linux != "" {
		exists("linux", e.Linux)
	}
	for _, p := range e.Initrd {
		exists("initrd", p)
	}
	if target := e.EFI + e.UKIKey; target != "" {
		key := "efi"
		if e.UKIKey != "" {
			key = "uki"
		}
		if !exists(key, target) {
			return
		}
		f, err := part.Open(target)
		if err != nil {
			e.invalid("%s %s: %v", key, target, err)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		u, err := uki.Read(f, st.Size(), part.Display(target), uki.KindUKI)
		if err != nil {
			e.invalid("%s %s is not a bootable UKI (ukiboot can only kexec Linux UKIs): %v", key, target, err)
			return
		}
		if _, err := u.Profile(e.Profile); err != nil {
			e.invalid("%s %s: %v", key, target, err)
			return
		}
		e.UKI = target
	}
}

func loadType2(c *Config, part *Partition) []*Entry {
	var out []*Entry
	for _, name := range listDir(c, part, Type2Dir) {
		if skipName(name, ".efi") {
			continue
		}
		out = append(out, type2Entries(part, name)...)
	}
	return out
}

// type2Entries makes one entry per profile of a UKI; a file that is not a
// valid UKI gives one invalid entry.
func type2Entries(part *Partition, name string) []*Entry {
	base := newEntry(part, Type2Dir, name, ".efi", Type2)
	base.UKI = base.Path
	fail := func(err error) []*Entry {
		base.Title = name
		base.Status, base.Err = StatusInvalid, err
		return []*Entry{base}
	}
	f, err := part.Open(base.Path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	u, err := uki.Read(f, st.Size(), base.DisplayPath(), uki.KindUKI)
	if err != nil {
		return fail(err)
	}
	var out []*Entry
	for _, p := range u.Profiles() {
		e := *base
		e.Profile = p.Number
		e.ProfileID, e.ProfileTitle = p.ID, p.Title
		if err := fillType2(&e, u, p); err != nil {
			e.Title = name
			e.Status, e.Err = StatusInvalid, err
		}
		if p.Number > 0 {
			e.IDWithoutProfile = e.ID
			if p.ID != "" {
				e.ID = e.ID + "@" + strings.ToLower(p.ID)
			} else {
				e.ID = fmt.Sprintf("%s@%d", e.ID, p.Number)
			}
		}
		out = append(out, &e)
	}
	return out
}

// fillType2 takes title, version and sort key from .osrel and the command
// line from .cmdline, as systemd-boot does.
func fillType2(e *Entry, u *uki.File, p *uki.Profile) error {
	osr, err := u.OSRelease(p)
	if err != nil {
		return err
	}
	if osr == nil {
		return fmt.Errorf("%s: no .osrel section, so no title (systemd-boot skips such UKIs)", u.Name)
	}
	name := osr.First("PRETTY_NAME", "IMAGE_ID", "NAME", "ID")
	if name == "" {
		return fmt.Errorf("%s: .osrel has none of PRETTY_NAME, IMAGE_ID, NAME, ID", u.Name)
	}
	e.Version = osr.First("IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID")
	e.SortKey = osr.First("IMAGE_ID", "ID")
	switch {
	case p.Title != "":
		e.Title = fmt.Sprintf("%s (%s)", name, p.Title)
	case p.Number > 0 && p.ID != "":
		e.Title = fmt.Sprintf("%s (%s)", name, p.ID)
	case p.Number > 0:
		e.Title = fmt.Sprintf("%s (Profile #%d)", name, p.Number+1)
	default:
		e.Title = name
	}
	cl, err := u.Text(p, uki.SectionCmdline)
	if err != nil {
		return err
	}
	e.Cmdline = uki.MangleCmdline(cl)
	return nil
}

// Compare orders two entries as systemd-boot's boot_entry_compare does:
// entries without tries left last; entries with a sort key first, ordered
// by sort key, machine id and version (newest first); then by id (newest
// first), profile, more tries left, fewer tries done.
func Compare(a, b *Entry) int {
	if r := cmpBool(a.Bad(), b.Bad()); r != 0 {
		return r
	}
	if r := cmpBool(a.SortKey == "", b.SortKey == ""); r != 0 {
		return r
	}
	if a.SortKey != "" {
		if r := strings.Compare(a.SortKey, b.SortKey); r != 0 {
			return r
		}
		if r := strings.Compare(a.MachineID, b.MachineID); r != 0 {
			return r
		}
		if r := -CompareVersions(a.Version, b.Version); r != 0 {
			return r
		}
	}
	if r := -CompareVersions(a.idForSort(), b.idForSort()); r != 0 {
		return r
	}
	if a.IDWithoutProfile != "" && b.IDWithoutProfile != "" {
		if r := cmp.Compare(a.Profile, b.Profile); r != 0 {
			return r
		}
	}
	if a.TriesLeft < 0 || b.TriesLeft < 0 {
		return 0
	}
	if r := -cmp.Compare(a.TriesLeft, b.TriesLeft); r != 0 {
		return r
	}
	return cmp.Compare(max(a.TriesDone, 0), max(b.TriesDone, 0))
}

func (e *Entry) idForSort() string {
	if e.IDWithoutProfile != "" {
		return e.IDWithoutProfile
	}
	return e.ID
}

// Sort puts entries in menu order; entries that compare equal keep the
// order they were found in.
func Sort(entries []*Entry) {
	sort.SliceStable(entries, func(i, j int) bool { return Compare(entries[i], entries[j]) < 0 })
}

// MakeShowTitles sets ShowTitle so that no two entries look the same, as
// systemd-boot does: the title (or id), then the version, then the first
// 8 characters of the machine id, then the id are added to titles that
// are still not unique.
func MakeShowTitles(entries []*Entry) {
	unique := make([]bool, len(entries))
	check := func() bool {
		all := true
		for i := range entries {
			for k := i + 1; k < len(entries); k++ {
				if entries[i].ShowTitle == entries[k].ShowTitle {
					unique[i], unique[k], all = false, false, false
				}
			}
		}
		return all
	}
	for i, e := range entries {
		unique[i] = true
		e.ShowTitle = e.Title
		if e.ShowTitle == "" {
			e.ShowTitle = e.ID
		}
	}
	steps := []func(e *Entry) string{
		func(e *Entry) string { return e.Version },
		func(e *Entry) string {
			if len(e.MachineID) > 8 {
				return e.MachineID[:8]
			}
			return e.MachineID
		},
		func(e *Entry) string { return e.ID },
	}
	for _, add := range steps {
		if check() {
			return
		}
		for i, e := range entries {
			if unique[i] {
				continue
			}
			unique[i] = true
			if s := add(e); s != "" {
				e.ShowTitle = fmt.Sprintf("%s (%s)", e.ShowTitle, s)
			}
		}
	}
}

// pickDefault chooses the default entry as systemd-boot does:
// LoaderEntryOneShot, then LoaderEntryDefault (or the last booted entry
// for "@saved"), then loader.conf's default, then the first entry that is
// not bad. Only bootable entries are considered.
func (c *Config) pickDefault(v Vars) error {
	find := func(pattern string) int {
		if pattern == "" {
			return -1
		}
		for i, e := range c.Entries {
			if e.Bootable() && MatchID(pattern, e.ID) {
				return i
			}
		}
		return -1
	}
	var errs []error
	get := func(name string) string {
		s, _, err := getVar(v, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	lastBooted := func() string { return get(VarEntryLastBoot) }

	if s := get(VarEntryOneShot); s != "" {
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource, c.OneShot = i, VarEntryOneShot, s
			return errors.Join(errs...)
		}
	}
	if s := get(VarEntryDefault); s != "" {
		src := VarEntryDefault
		if strings.EqualFold(s, "@saved") {
			s, src = lastBooted(), VarEntryLastBoot
		}
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource = i, src
			return errors.Join(errs...)
		}
	}
	if s := c.Loader.Default; s != "" {
		src := "loader.conf"
		if strings.EqualFold(s, "@saved") {
			s, src = lastBooted(), VarEntryLastBoot
		}
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource = i, src
			return errors.Join(errs...)
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() && !e.Bad() {
			c.Default, c.DefaultSource = i, "first entry"
			return errors.Join(errs...)
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() {
			c.Default, c.DefaultSource = i, "first entry (all are out of tries)"
			break
		}
	}
	return errors.Join(errs...)
}
