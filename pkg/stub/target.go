package stub

import (
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// Target is what Build needs to know of the entry to boot, and nothing
// else: how to open the files on its partition, the paths it names, its
// arguments, and the names the plan prints. TargetOf makes one from an
// entry the scanner found on a partition, NetTargetOf from a network
// entry and the source that reads its UKI.
type Target struct {
	Entry PlanEntry
	// Files opens the files on the entry's partition: the ones the entry
	// names and the directories systemd-stub reads (/loader/addons,
	// <uki>.extra.d, ...). A network entry has no partition: its Files
	// opens the UKI only.
	Files Files
	// UKI is the path in Files of the UKI to boot, and Profile
	// its profile number. When UKI is "", the entry boots Linux (a kernel)
	// with the Initrd files, in order.
	UKI     string
	Profile int
	Linux   string
	Initrd  []string
	// Options are the arguments the entry gives the kernel or the UKI (a
	// type #1 entry's options); "" for none.
	Options string
	// BootCountPath, when set, is the entry file's path on its partition
	// after the planned boot-counting rename. A kexec boot cannot set the
	// LoaderBootCountPath EFI variable, so it is handed over as
	// /.extra/loader-boot-count-path (backslash-separated, as the variable
	// has it), not measured. The caller renames the file, or clears this
	// when the rename failed.
	BootCountPath string
}

// PlanEntry names the entry a plan boots, for the plan's output.
type PlanEntry struct {
	ID    string // the entry's id, as -entry and LoaderEntryDefault name it
	Title string // the title the menu shows
	Path  string // the entry file, as the plan prints it
}

// Files opens the files on an entry's partition. Names are paths on the
// partition ("/EFI/Linux/x.efi").
type Files interface {
	// Open opens a file or a directory. A name that is not on the
	// partition is refused.
	Open(name string) (File, error)
	// Display names a file as the user knows it, for messages.
	Display(name string) string
}

// File is what Build needs of a file or directory it opens; *os.File
// has it.
type File interface {
	io.Reader
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
	ReadDir(n int) ([]fs.DirEntry, error)
}

// Streamer is a File that is best read as one stream, such as a UKI
// served over the network (pkg/netboot): the one pass reads its bytes
// from one Stream instead of ReadAt calls, which still read the headers
// first (and are compared with the streamed bytes). The stream must give
// the file's bytes from its start; more bytes than Stat's size are not
// read.
type Streamer interface {
	Stream() (io.ReadCloser, error)
}

// TargetOf describes what booting e would boot, with the boot-counting
// rename planned when e has a counter. An entry that cannot boot is a
// *PlanError that says why; so is a network entry (e.Network()), whose
// UKI only the caller can read: see NetTargetOf.
func TargetOf(e *bls.Entry) (Target, error) {
	if e.Network() {
		return Target{}, &PlanError{e.ID, fmt.Errorf("%s: a UKI on the network, not on a partition: it is booted through the network code", e.UKI)}
	}
	return targetOf(e, rootFiles{e.Root}, e.UKI)
}

// NetUKI is a UKI on the network as Build reads it: Files opens it as
// Name and has nothing else (no partition: no addons, credentials or
// extensions). pkg/netboot's Source is one.
type NetUKI interface {
	Files() Files
	Name() string
}

// NetTargetOf is TargetOf for a network entry (a -url UKI, or a type #1
// entry with uki-url): its UKI is src's. The boot-counting rename of a
// type #1 entry's file is planned as for any entry.
func NetTargetOf(e *bls.Entry, src NetUKI) (Target, error) {
	if !e.Network() {
		return Target{}, &PlanError{e.ID, fmt.Errorf("%s: not a network entry", e.DisplayPath())}
	}
	return targetOf(e, src.Files(), src.Name())
}

func targetOf(e *bls.Entry, files Files, uki string) (Target, error) {
	if !e.Bootable() {
		return Target{}, &PlanError{e.ID, e.Err}
	}
	t := Target{
		Entry: PlanEntry{ID: e.ID, Title: e.ShowTitle, Path: e.FullPath()},
		Files: files,
		UKI:   uki, Profile: e.Profile,
		Linux: e.Linux, Initrd: e.Initrd,
	}
	// A type #2 entry's Cmdline is its UKI's .cmdline, shown in the menu:
	// no boot loader passes it back as arguments.
	if e.Type == bls.Type1 {
		t.Options = e.Cmdline
	}
	if e.CountsBoots() {
		t.BootCountPath = path.Join(path.Dir(e.Path), e.Counter.Next())
	}
	return t, nil
}

// rootFiles opens files through a bls.Root.
type rootFiles struct{ root *bls.Root }

func (r rootFiles) Open(name string) (File, error) {
	f, err := r.root.Open(name)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}

func (r rootFiles) Display(name string) string { return r.root.Display(name) }
