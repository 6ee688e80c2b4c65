// Package stub does what systemd-stub does before it starts the kernel,
// in user space: from a Target (what to boot: the files on the entry's
// partition and the paths and arguments of the entry; TargetOf makes one
// from a bls.Entry) it builds the kernel image, the initrd
// (with .ucode first, the UKI's .initrd, generated cpio archives of
// credentials, system and configuration extensions and /.extra files, and
// addon initrds last) and the command line that systemd-stub would hand
// the kernel, and lists the TPM measurements that implies.
//
// Everything is copied into sealed memfds first, so what is hashed,
// measured and loaded is the same private copy, which no one can change.
package stub

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"unicode/utf16"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/cpio"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// PCRs systemd-stub measures into.
const (
	PCRKernelBoot   = 11 // UKI sections
	PCRKernelConfig = 12 // command lines, credentials, confexts, addons
	PCRSysexts      = 13 // system extensions
)

// pcr11Order is the order in which systemd-stub measures sections (the
// order systemd-measure and ukify use for .pcrsig). .pcrsig is never
// measured.
var pcr11Order = []string{
	uki.SectionLinux, uki.SectionOSRel, uki.SectionCmdline, uki.SectionInitrd, uki.SectionUcode,
	uki.SectionSplash, uki.SectionDTB, uki.SectionUname, uki.SectionSBAT, uki.SectionPCRPKey,
	uki.SectionProfile, uki.SectionDTBAuto, uki.SectionHWIDs, uki.SectionEFIFW,
}

// Policy is what the caller decides.
type Policy struct {
	// Append is extra command line (-append). It goes after the UKI's,
	// the addons' and SMBIOS's command lines (after a type #1 linux
	// entry's options and SMBIOS's) and is measured into PCR 12.
	Append string
	// Cmdline, when CmdlineSet, replaces the entry's own arguments (the
	// menu's editor): a type #1 entry's options, or the arguments a UKI
	// gets, which replace its .cmdline unless verification is enforced.
	Cmdline    string
	CmdlineSet bool
	// Verify says whether and against what signatures are checked. Under
	// VerifyEnforce, like systemd-stub under Secure Boot, caller-supplied
	// command lines are also refused for UKIs that carry a .cmdline.
	Verify Verification
	// MaxSize is the largest file read whole (-max-size): the UKI, addons,
	// type #1 kernels and initrds, credentials and extensions. A larger
	// file is refused before any of it is read. 0 means DefaultMaxSize.
	MaxSize int64

	// SMBIOS holds the SMBIOS Type 11 strings the ROM policy lets through
	// (-smbios); the zero value applies none.
	SMBIOS SMBIOSExtra
	// Hardware is what .dtbauto sections are matched against
	// (ReadHardware); the zero value knows nothing.
	Hardware Hardware
	// Console, when not "", is appended (unmeasured) as "console=<Console>"
	// to a final command line without console= (-console).
	Console string
}

// SMBIOSExtra are the command-line additions from SMBIOS Type 11 OEM
// strings that systemd-boot and systemd-stub apply.
type SMBIOSExtra struct {
	// Stub is io.systemd.stub.kernel-cmdline-extra: appended to a UKI's
	// command line after the addons' and measured as its own PCR 12 event.
	Stub string
	// Boot is io.systemd.boot.kernel-cmdline-extra: appended to a type #1
	// linux entry's command line.
	Boot string
}

// Verification is the signature policy.
type Verification struct {
	Mode  VerifyMode
	Store *authenticode.Store
}

func (p Policy) enforce() bool { return p.Verify.Mode == VerifyEnforce }

// Measurement is one TPM event the boot implies.
type Measurement struct {
	PCR         int
	Description string
	SHA256      [32]byte // digest of the measured bytes
	Size        int64
}

// Piece is one part of the initrd, in order.
type Piece struct {
	Description string
	Offset      int64
	Size        int64 // without padding
	SHA256      [32]byte
}

// Plan is what the kernel will be handed.
type Plan struct {
	Entry        PlanEntry
	Kernel       *Blob
	Initrd       *Blob // nil without initrd
	Cmdline      string
	Pieces       []Piece
	Measurements []Measurement
	// Verdict is the signature verdict on the UKI; nil when verification
	// is off or for type #1 kernel entries.
	Verdict *authenticode.Verdict
	// Notes are things a person should know (ignored devicetrees, refused
	// -append, skipped addons).
	Notes []string
}

// Close frees the plan's memory.
func (p *Plan) Close() {
	p.Kernel.Close()
	p.Initrd.Close()
}

// UntrustedError is returned when verification is enforced and the UKI
// is not trusted.
type UntrustedError struct {
	File    string
	Verdict *authenticode.Verdict
}

func (e *UntrustedError) Error() string {
	if e.Verdict.Status == authenticode.Untrusted {
		return fmt.Sprintf("%s is not trusted: %s", e.File, e.Verdict.Reason) // not "not trusted: untrusted:"
	}
	return fmt.Sprintf("%s is not trusted: %s", e.File, e.Verdict)
}

// PlanError says why an entry cannot be booted.
type PlanError struct {
	Entry  string
	Reason error
}

func (e *PlanError) Error() string { return fmt.Sprintf("entry %s: %v", e.Entry, e.Reason) }
func (e *PlanError) Unwrap() error { return e.Reason }

// Build makes the plan for booting t (TargetOf).
func Build(t Target, pol Policy) (*Plan, error) {
	if t.Files == nil {
		return nil, &PlanError{t.Entry.ID, errors.New("no files to boot from (Target.Files is nil)")}
	}
	b := &builder{target: t, files: t.Files, pol: pol, plan: &Plan{Entry: t.Entry}}
	var err error
	if t.UKI != "" {
		err = b.uki()
	} else {
		err = b.type1()
	}
	if err != nil {
		b.plan.Close()
		return nil, &PlanError{t.Entry.ID, err}
	}
	return b.plan, nil
}

type builder struct {
	target Target
	files  Files // the entry's partition
	pol    Policy
	plan   *Plan
	initrd *blobWriter
}

func (b *builder) note(format string, args ...any) {
	b.plan.Notes = append(b.plan.Notes, fmt.Sprintf(format, args...))
}

func (b *builder) measure(pcr int, desc string, data []byte) {
	b.plan.Measurements = append(b.plan.Measurements, Measurement{PCR: pcr, Description: desc, SHA256: sha256.Sum256(data), Size: int64(len(data))})
}

func (b *builder) measureDigest(pcr int, desc string, sum [32]byte, size int64) {
	b.plan.Measurements = append(b.plan.Measurements, Measurement{PCR: pcr, Description: desc, SHA256: sum, Size: size})
}

// measureCmdline records a command line measurement: UTF-16LE including
// the terminating NUL, as systemd's code does.
func (b *builder) measureCmdline(desc, s string) {
	b.measure(PCRKernelConfig, desc, utf16z(s))
}

// utf16z encodes s as UTF-16LE with a terminating NUL.
func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s + "\x00"))
	buf := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(buf[2*i:], c)
	}
	return buf
}

// openFile snapshots a file named by the entry into a sealed memfd.
func (b *builder) openFile(name, what string) (*Blob, error) {
	f, err := b.files.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s: not a regular file", what, b.files.Display(name))
	}
	if err := CheckSize(b.files.Display(name), st.Size(), b.pol.MaxSize); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return snapshot(path.Base(name), f, st.Size())
}

// type1 builds a plan for a "linux" entry: kernel, initrds in order
// (4-byte aligned between them, as systemd-boot does), options.
func (b *builder) type1() error {
	t := b.target
	if b.pol.enforce() {
		return fmt.Errorf("type #1 entries cannot be verified (their kernel, initrds and options are not signed as one); verification is enforced")
	}
	k, err := b.openFile(t.Linux, "linux")
	if err != nil {
		return err
	}
	b.plan.Kernel = k
	if err := b.startInitrd(); err != nil {
		return err
	}
	for i, name := range t.Initrd {
		if i > 0 {
			if err := b.initrd.pad(); err != nil {
				return err
			}
		}
		blob, err := b.openFile(name, "initrd")
		if err != nil {
			return err
		}
		if blob.Size == 0 {
			// initrd_prepare skips empty files (its initrd= stays).
			blob.Close()
			continue
		}
		err = b.addPiece(name, blob.File, blob.Size, false)
		blob.Close()
		if err != nil {
			return err
		}
	}
	// systemd-boot measures the command line it passes into PCR 12,
	// whole; -append is part of it.
	cmdline := joinSpace(b.linuxCmdline(), uki.MangleCmdline(b.pol.Append))
	if cmdline != "" {
		b.measureCmdline(cmdline, cmdline)
	}
	b.plan.Cmdline = b.appendConsole(cmdline)
	if len(t.Initrd) > 0 && b.target.BootCountPath != "" {
		if err := b.initrd.pad(); err != nil {
			return err
		}
	}
	if err := b.bootCountPath(); err != nil {
		return err
	}
	return b.finishInitrd()
}

func (b *builder) startInitrd() error {
	w, err := newBlob("initrd")
	if err != nil {
		return err
	}
	b.initrd = w
	return nil
}

// addPiece appends size bytes of r to the initrd; pad says whether to
// align the end to 4 bytes.
func (b *builder) addPiece(desc string, r io.Reader, size int64, pad bool) error {
	start := b.initrd.size
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(b.initrd, h), io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s: read %d of %d bytes", desc, n, size)
	}
	if err != nil {
		return fmt.Errorf("initrd piece %s: %w", desc, err)
	}
	p := Piece{Description: desc, Offset: start, Size: size}
	copy(p.SHA256[:], h.Sum(nil))
	b.plan.Pieces = append(b.plan.Pieces, p)
	if pad {
		return b.initrd.pad()
	}
	return nil
}

func (b *builder) finishInitrd() error {
	w := b.initrd
	b.initrd = nil
	if w.size == 0 {
		w.abort()
		return nil
	}
	blob, err := w.seal()
	if err != nil {
		return err
	}
	b.plan.Initrd = blob
	return nil
}

// uki builds the plan for a UKI: systemd-stub's steps, in its order.
func (b *builder) uki() error {
	t := b.target
	img, u, verdict, err := b.openPE(t.UKI, uki.KindUKI)
	if err != nil {
		return err
	}
	defer img.Close()
	full := u.Name
	b.plan.Verdict = verdict
	if verdict != nil && verdict.Status != authenticode.Trusted {
		if b.pol.enforce() {
			return &UntrustedError{File: full, Verdict: verdict}
		}
		b.note("%s is %s; booting anyway because verification is not enforced", full, verdict)
	}
	if want := u.Header.Machine.GOARCH(); want != runtime.GOARCH {
		return fmt.Errorf("%s is built for %s, this machine is %s", full, u.Header.Machine, runtime.GOARCH)
	}
	// 1. The boot loader's part: the load options it starts the UKI
	// with, measured into PCR 12; the stub takes its profile and
	// arguments from them.
	profile, args, ok := stubArguments(b.loaderOptions())
	if !ok {
		b.note("entry options %q ignored, profile 0 used: systemd-stub ignores load options with a control character", b.arguments())
	} else if profile != t.Profile {
		b.note("profile %d used: the entry's options start with @%d", profile, profile)
	}
	prof, err := u.Profile(profile)
	if err != nil {
		return err
	}
	// 2. A profile other than the default is measured into PCR 12 by the
	// stub: its number as a UTF-16 string with the NUL (a tagged event,
	// UKI_PROFILE_EVENT_TAG_ID 0x13aed6db; measure_profile).
	if profile > 0 {
		n := fmt.Sprint(profile)
		b.measure(PCRKernelConfig, "UKI profile "+n, utf16z(n))
	}
	// 3. PCR 11: every present section, in systemd's order.
	if err := b.measureSections(prof, full); err != nil {
		return err
	}
	// 4. The command line, and the addons it needs.
	cmdline, addons, err := b.ukiCmdline(u, prof, args)
	defer func() {
		for _, a := range addons {
			a.blob.Close()
		}
	}()
	if err != nil {
		return err
	}
	b.plan.Cmdline = b.appendConsole(cmdline)
	// 6. Devicetree.
	if prof.Section(uki.SectionDTB) != nil {
		b.note("%s: .dtb present but not applicable: kexec_file_load passes no devicetree on %s", full, runtime.GOARCH)
	}
	// 7. The kernel.
	linux := prof.Section(uki.SectionLinux)
	k, err := snapshot("linux", linux.Open(), linux.Size())
	if err != nil {
		return err
	}
	b.plan.Kernel = k
	// 8. The initrd, piece by piece.
	return b.ukiInitrd(prof, addons)
}

// measureSections measures every section of the profile present in the
// UKI into PCR 11, in systemd's order: its name, then its contents.
func (b *builder) measureSections(prof *uki.Profile, full string) error {
	for _, name := range pcr11Order {
		if name == uki.SectionDTBAuto {
			if err := b.measureDTBAuto(prof, full); err != nil {
				return err
			}
			continue
		}
		s := prof.Section(name)
		if s == nil {
			continue
		}
		if uki.IsRepeatable(name) {
			// .dtbauto/.efifw are chosen by matching the firmware's
			// devicetree or hardware ids; nothing matches on a kexec boot.
			b.note("%s: %s not used (matched against firmware devicetree/HWIDs, which a kexec boot does not have)", full, name)
			continue
		}
		b.measure(PCRKernelBoot, name, append([]byte(name), 0))
		sum, err := hashSection(s)
		if err != nil {
			return err
		}
		b.measureDigest(PCRKernelBoot, name, sum, s.Size())
	}
	return nil
}

// ukiCmdline is the UKI's command line as systemd-stub's run() builds
// it from the arguments (stubArguments): the arguments or .cmdline
// (settleCmdline), the addons' command lines (global addons first, then
// the UKI's own; addons are loaded here), SMBIOS
// io.systemd.stub.kernel-cmdline-extra, then -append, last ("most
// dynamic"), measured like them. It returns the addons, to be closed by
// the caller, also on error.
func (b *builder) ukiCmdline(u *uki.File, prof *uki.Profile, args string) (string, []addon, error) {
	cmdline, err := b.settleCmdline(u, prof, args)
	if err != nil {
		return "", nil, err
	}
	uname, err := u.Uname(prof)
	if err != nil {
		return "", nil, err
	}
	addons, err := b.loadAddons(uname)
	if err != nil {
		return "", addons, err
	}
	if cmdline, err = b.addonCmdline(cmdline, addons); err != nil {
		return "", addons, err
	}
	cmdline = b.smbiosStubCmdline(cmdline)
	if app := uki.MangleCmdline(b.pol.Append); app != "" {
		if b.pol.argumentsIgnored(prof) {
			return "", addons, fmt.Errorf("-append refused: verification is enforced and %s has its own .cmdline", u.Name)
		}
		b.measureCmdline(app, app)
		cmdline = joinSpace(cmdline, app)
	}
	return cmdline, addons, nil
}

// ukiInitrd assembles the initrd in systemd-stub's order: the addons'
// microcode (last addon first), the UKI's .ucode and .initrd, the
// generated archives (credentials, extensions), the literal sections,
// the addons' initrds, the boot-count path.
func (b *builder) ukiInitrd(prof *uki.Profile, addons []addon) error {
	if err := b.startInitrd(); err != nil {
		return err
	}
	for i := len(addons) - 1; i >= 0; i-- {
		if s := addons[i].file.Section(uki.SectionUcode); s != nil {
			if err := b.addSection("addon "+addons[i].name+" .ucode", s); err != nil {
				return err
			}
			b.measureDigest(PCRKernelConfig, addons[i].name, b.lastPiece().SHA256, s.Size())
		}
	}
	for _, name := range []string{uki.SectionUcode, uki.SectionInitrd} {
		if s := prof.Section(name); s != nil {
			if err := b.addSection(name, s); err != nil {
				return err
			}
		}
	}
	if err := b.sidecars(); err != nil {
		return err
	}
	for _, lit := range []struct{ section, file string }{
		{uki.SectionPCRSig, "tpm2-pcr-signature.json"},
		{uki.SectionPCRPKey, "tpm2-pcr-public-key.pem"},
		{uki.SectionOSRel, "os-release"},
		{uki.SectionProfile, "profile"},
	} {
		if s := prof.Section(lit.section); s != nil {
			if err := b.literal(lit.section, lit.file, s.Size(), s.Open()); err != nil {
				return err
			}
		}
	}
	for _, a := range addons {
		if s := a.file.Section(uki.SectionInitrd); s != nil {
			if err := b.addSection("addon "+a.name+" .initrd", s); err != nil {
				return err
			}
			b.measureDigest(PCRKernelConfig, a.name, b.lastPiece().SHA256, s.Size())
		}
	}
	if err := b.bootCountPath(); err != nil {
		return err
	}
	return b.finishInitrd()
}

// bootCountPath adds /.extra/loader-boot-count-path when the entry was
// renamed for boot counting.
func (b *builder) bootCountPath() error {
	if b.target.BootCountPath == "" {
		return nil
	}
	v := strings.ReplaceAll(b.target.BootCountPath, "/", "\\") + "\n"
	return b.literal("boot counting", "loader-boot-count-path", int64(len(v)), strings.NewReader(v))
}

func (b *builder) lastPiece() Piece { return b.plan.Pieces[len(b.plan.Pieces)-1] }

// baseProfile is the base profile of an addon (every valid file has one).
func baseProfile(f *uki.File) *uki.Profile {
	p, _ := f.Profile(0)
	return p
}

func hashSection(s *uki.Section) ([32]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, s.Open()); err != nil {
		return [32]byte{}, fmt.Errorf("reading %s: %w", s.Name, err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func (b *builder) addSection(desc string, s *uki.Section) error {
	return b.addPiece(desc, s.Open(), s.Size(), true)
}

// literal wraps data as /.extra/<file> (not measured: the section itself
// was, or must not be).
func (b *builder) literal(section, file string, size int64, r io.Reader) error {
	start := b.initrd.size
	h := sha256.New()
	w := cpio.NewWriter(io.MultiWriter(b.initrd, h))
	err := w.Prefix(".extra", 0o555)
	if err == nil {
		err = w.File(".extra/"+file, 0o444, size, r)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return fmt.Errorf("/.extra/%s from %s: %w", file, section, err)
	}
	p := Piece{Description: "/.extra/" + file + " (" + section + ")", Offset: start, Size: w.Len()}
	copy(p.SHA256[:], h.Sum(nil))
	b.plan.Pieces = append(b.plan.Pieces, p)
	return b.initrd.pad()
}
