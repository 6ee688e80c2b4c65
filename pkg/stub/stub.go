// Package stub does what systemd-stub does before it starts the kernel,
// in user space: from a Target (what to boot: the files on the entry's
// partition and the paths and arguments of the entry; TargetOf makes one
// from a bls.Entry, NetTargetOf from a network entry) it builds the
// kernel image, the initrd (with .ucode first, the UKI's .initrd,
// generated cpio archives of credentials, system and configuration
// extensions and /.extra files, and addon initrds last) and the command
// line that systemd-stub would hand the kernel, and lists the TPM
// measurements that implies.
//
// Everything is copied into private memory first (sealed memfds for the
// kernel and the initrd, the Go heap for the UKI's small parts), so what
// is hashed, measured and loaded is the same private copy, which no one
// can change. A UKI is read once (onepass.go).
package stub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/cpio"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// PCRs systemd-stub measures into.
const (
	PCRKernelBoot   = measure.PCRKernelBoot   // UKI sections
	PCRKernelConfig = measure.PCRKernelConfig // command lines, credentials, confexts, addons
	PCRSysexts      = measure.PCRSysexts      // system extensions
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
	// MinVersion, when not "", is the oldest version the UKI may have (a
	// network UKI's #min-version): its profile's .uname, else the version
	// of its .osrel (IMAGE_VERSION, VERSION, VERSION_ID, BUILD_ID),
	// compared as systemd compares versions, on the private copy after
	// verification. An older UKI, or one without a version, is refused:
	// it could be a rollback to an old signed UKI.
	MinVersion string

	// SMBIOS holds the SMBIOS Type 11 strings the ROM policy lets through
	// (-smbios); the zero value applies none.
	SMBIOS SMBIOSExtra
	// Hardware is what .dtbauto sections are matched against
	// (ReadHardware); the zero value knows nothing.
	Hardware Hardware
	// Console, when not "", is appended (unmeasured) as "console=<Console>"
	// to a final command line without console= (-console).
	Console string
	// Measure says for which PCR banks the events are computed and what
	// else a measured boot adds.
	Measure MeasurePolicy

	// pass says how the UKI is read (tests force the whole-file copy).
	pass passMode
	// ran, when not nil, is set to the path that read the UKI (ranOnePass,
	// ranCopy, ranRefused), for tests.
	ran *string
}

// MeasurePolicy is what the caller decides about measurements.
type MeasurePolicy struct {
	// Banks are the PCR banks every event gets a digest for; empty means
	// measure.DefaultBanks.
	Banks measure.Banks
	// PolicyEvents, when not nil, returns the events that go first (the
	// verification policy into PCR 7); v is the UKI's verdict, nil for a
	// type #1 entry or when nothing was verified.
	PolicyEvents func(banks measure.Banks, v *authenticode.Verdict) []measure.Event
	// Log adds the plan's events to the initrd as /.extra/tpm2-measure.log
	// (measure.WriteLog; not measured itself).
	Log bool
	// ForceMeasure appends, unmeasured, SYSTEMD_FORCE_MEASURE=1 and
	// systemd.setenv=SYSTEMD_FORCE_MEASURE=1 to the final command line
	// (each unless already set), so that the next OS measures its boot
	// phases as after systemd-stub.
	ForceMeasure bool
	// LoaderConf, when not nil, is loader.conf as read from the ESP:
	// systemd-boot (v255 and later) measures it into PCR 5 (tagged
	// LOADER_CONF, "loader.conf") before it starts anything.
	LoaderConf []byte
}

// banks are the banks events are computed for.
func (m MeasurePolicy) banks() measure.Banks {
	if len(m.Banks) == 0 {
		return measure.DefaultBanks
	}
	return m.Banks
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

// Piece is one part of the initrd, in order.
type Piece struct {
	Description string
	Offset      int64
	Size        int64 // without padding
	SHA256      [32]byte
}

// Plan is what the kernel will be handed.
type Plan struct {
	Entry   PlanEntry
	Kernel  *Blob
	Initrd  *Blob // nil without initrd
	Cmdline string
	Pieces  []Piece
	// Events are the TPM events the boot implies, in extend order: the
	// policy prelude (MeasurePolicy.PolicyEvents), then what systemd-boot
	// and systemd-stub would measure; digests for every bank of Banks.
	Events []measure.Event
	// Banks are the PCR banks of the events' digests.
	Banks measure.Banks
	// PCR11Rule says which stub's rules chose the PCR 11 sections of a
	// UKI ("" for a type #1 entry).
	PCR11Rule string
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
	banks := pol.Measure.banks()
	b := &builder{target: t, files: t.Files, pol: pol, banks: banks, plan: &Plan{Entry: t.Entry, Banks: banks}}
	var err error
	if t.UKI != "" {
		err = b.uki()
	} else {
		err = b.type1()
	}
	if err != nil {
		if b.initrd != nil {
			b.initrd.abort()
		}
		b.plan.Close()
		return nil, &PlanError{t.Entry.ID, err}
	}
	return b.plan, nil
}

type builder struct {
	target Target
	files  Files // the entry's partition
	pol    Policy
	banks  measure.Banks
	plan   *Plan
	initrd *blobWriter
	// img is the UKI's private copy, with the digests of the sections
	// its one pass hashed.
	img *image
}

func (b *builder) note(format string, args ...any) {
	b.plan.Notes = append(b.plan.Notes, fmt.Sprintf(format, args...))
}

// ipl records an EV_IPL event (systemd's tpm_log_ipl_event: the event
// data is desc in UTF-16 with its NUL) of bytes whose digests are d.
func (b *builder) ipl(pcr int, desc string, d measure.Digests, size int64) {
	b.plan.Events = append(b.plan.Events, b.event(pcr, measure.EvIPL, 0, desc, d, size))
}

// tagged records an EV_EVENT_TAG event (tpm_log_tagged_event).
func (b *builder) tagged(tag uint32, desc string, d measure.Digests, size int64) {
	b.plan.Events = append(b.plan.Events, b.event(PCRKernelConfig, measure.EvEventTag, tag, desc, d, size))
}

// event keeps the digests of the plan's banks only (a Hasher for pieces
// also computes SHA-256 for Piece.SHA256).
func (b *builder) event(pcr int, typ measure.EventType, tag uint32, desc string, d measure.Digests, size int64) measure.Event {
	own := make(measure.Digests, len(b.banks))
	for _, a := range b.banks {
		if v, ok := d[a]; ok {
			own[a] = v
		}
	}
	return measure.Event{PCR: pcr, Type: typ, Tag: tag, Description: desc, Digests: own, Size: size}
}

// measureCmdline records a command line measurement
// (tpm_log_load_options): UTF-16LE including the terminating NUL, the
// command line itself as description.
func (b *builder) measureCmdline(s string) {
	data := measure.UTF16Z(s)
	b.ipl(PCRKernelConfig, s, measure.Sum(b.banks, data), int64(len(data)))
}

// hasher hashes the plan's banks and SHA-256 (for pieces) in one pass.
func (b *builder) hasher() *measure.Hasher { return measure.NewHasher(b.hashBanks()) }

// hashBanks are the banks hasher hashes: the plan's supported banks and
// SHA-256 (for pieces and the kernel).
func (b *builder) hashBanks() measure.Banks {
	banks := b.banks
	if !slices.Contains(banks, measure.SHA256) {
		banks = append(slices.Clone(banks), measure.SHA256)
	}
	var out measure.Banks
	for _, a := range banks {
		if a.Supported() {
			out = append(out, a)
		}
	}
	return out
}

// prelude puts the policy events (PCR 7) first, then systemd-boot's
// measurement of loader.conf (PCR 5); v is the UKI's verdict.
func (b *builder) prelude(v *authenticode.Verdict) {
	var first []measure.Event
	if f := b.pol.Measure.PolicyEvents; f != nil {
		first = f(b.banks, v)
	}
	if c := b.pol.Measure.LoaderConf; c != nil {
		first = append(first, measure.Event{PCR: measure.PCRBootLoaderConfig, Type: measure.EvEventTag, Tag: measure.TagLoaderConf,
			Description: "loader.conf", Digests: measure.Sum(b.banks, c), Size: int64(len(c))})
	}
	b.plan.Events = append(first, b.plan.Events...)
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
	b.prelude(nil)
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
		_, err = b.addPiece(name, blob.File, blob.Size, false, false)
		blob.Close()
		if err != nil {
			return err
		}
	}
	// systemd-boot measures the command line it passes into PCR 12,
	// whole; -append is part of it.
	cmdline := joinSpace(b.linuxCmdline(), uki.MangleCmdline(b.pol.Append))
	if cmdline != "" {
		b.measureCmdline(cmdline)
	}
	b.plan.Cmdline = b.finalCmdline(cmdline)
	if len(t.Initrd) > 0 && (b.target.BootCountPath != "" || b.pol.Measure.Log) {
		if err := b.initrd.pad(); err != nil {
			return err
		}
	}
	if err := b.measureLog(); err != nil {
		return err
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
// align the end to 4 bytes. It returns the SHA-256 of the bytes (every
// piece's, for the plan) and, when measured, their digests in every bank,
// computed while copying them.
func (b *builder) addPiece(desc string, r io.Reader, size int64, pad, measured bool) (measure.Digests, error) {
	start := b.initrd.size
	h := measure.NewHasher(measure.Banks{measure.SHA256})
	if measured {
		h = b.hasher()
	}
	if err := b.copyPiece(desc, io.MultiWriter(b.initrd, h), r, size); err != nil {
		return nil, err
	}
	d := h.Sum()
	p := Piece{Description: desc, Offset: start, Size: size}
	copy(p.SHA256[:], d[measure.SHA256])
	b.plan.Pieces = append(b.plan.Pieces, p)
	if pad {
		return d, b.initrd.pad()
	}
	return d, nil
}

// appendPiece appends size bytes of r, whose SHA-256 is known, padded.
func (b *builder) appendPiece(desc string, r io.Reader, size int64, sum []byte) error {
	p := Piece{Description: desc, Offset: b.initrd.size, Size: size}
	if err := b.copyPiece(desc, b.initrd, r, size); err != nil {
		return err
	}
	copy(p.SHA256[:], sum)
	b.plan.Pieces = append(b.plan.Pieces, p)
	return b.initrd.pad()
}

func (b *builder) copyPiece(desc string, w io.Writer, r io.Reader, size int64) error {
	n, err := io.CopyBuffer(w, io.LimitReader(r, size), make([]byte, copyBufferSize))
	if err == nil && n != size {
		err = fmt.Errorf("%s: read %d of %d bytes", desc, n, size)
	}
	if err != nil {
		return fmt.Errorf("initrd piece %s: %w", desc, err)
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
	img, u, verdict, err := b.openUKI(t.UKI)
	if err != nil {
		return err
	}
	defer img.Close()
	b.img = img
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
	b.prelude(verdict)
	// 1. The boot loader's part: the load options it starts the UKI
	// with, measured into PCR 12; the stub takes its profile and
	// arguments from them.
	profile, args, ok := stubArguments(b.loaderOptions())
	if !ok {
		b.note("entry options %q ignored, profile 0 used: systemd-stub ignores load options with a control character", b.arguments())
	} else if profile != t.Profile {
		b.note("profile %d used: the entry's options start with @%d", profile, profile)
	}
	// The UKI's own stub decides what it measures into PCR 11, and so
	// what ukiboot may use at all: a section that stub neither measures
	// nor knows (.ucode before 256, .profile before 257) is not used, as
	// that stub would not use it; else it could be added to a UKI
	// without changing PCR 11.
	rule := PCR11RuleFor(u.StubVersion())
	b.plan.PCR11Rule = rule.String()
	if profile > 0 && !rule.measures(uki.SectionProfile) {
		b.note("%s: profile %d not used: systemd-stub %d knows no profiles; profile 0", full, profile, rule.Release)
		profile = 0
	}
	prof, err := u.Profile(profile)
	if err != nil {
		return err
	}
	if err := b.checkMinVersion(u, prof); err != nil {
		return err
	}
	// 2. A profile other than the default is measured into PCR 12 by the
	// stub: its number as a UTF-16 string with the NUL, also the event's
	// description (a tagged event, UKI_PROFILE_EVENT_TAG_ID;
	// measure_profile).
	if profile > 0 {
		n := fmt.Sprint(profile)
		data := measure.UTF16Z(n)
		b.tagged(measure.TagUKIProfile, n, measure.Sum(b.banks, data), int64(len(data)))
	}
	// 3. PCR 11: every present section the UKI's own stub measures, in
	// systemd's order.
	if err := b.measureSections(prof, full, rule); err != nil {
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
	b.plan.Cmdline = b.finalCmdline(cmdline)
	// 5. The addons' devicetrees, measured as systemd-stub does after
	// installing them, although kexec cannot hand them on.
	if err := b.measureAddonDevicetrees(addons); err != nil {
		return err
	}
	// 6. Devicetree.
	if prof.Section(uki.SectionDTB) != nil {
		b.note("%s: .dtb present but not applicable: kexec_file_load passes no devicetree on %s", full, runtime.GOARCH)
	}
	// 7. The kernel.
	k, err := b.kernel(prof.Section(uki.SectionLinux))
	if err != nil {
		return err
	}
	b.plan.Kernel = k
	// 8. The initrd, piece by piece.
	return b.ukiInitrd(prof, addons, rule)
}

// measureSections measures every section of the profile present in the
// UKI that rule measures into PCR 11, in systemd's order: its name, then
// its contents (measure_sections).
func (b *builder) measureSections(prof *uki.Profile, full string, rule PCR11Rule) error {
	for _, name := range pcr11Order {
		if !rule.measures(name) {
			if prof.Section(name) != nil {
				b.note("%s: %s not measured into PCR 11: systemd-stub %d does not measure it", full, name, rule.Release)
			}
			continue
		}
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
		if err := b.measureSection(s); err != nil {
			return err
		}
	}
	return nil
}

// measureSection measures s into PCR 11: its name with the NUL, then its
// contents, both described by the name (tpm_log_ipl_event_ascii).
func (b *builder) measureSection(s *uki.Section) error {
	name := append([]byte(s.Name), 0)
	b.ipl(PCRKernelBoot, s.Name, measure.Sum(b.banks, name), int64(len(name)))
	d, err := b.sectionDigests(s)
	if err != nil {
		return err
	}
	b.ipl(PCRKernelBoot, s.Name, d, s.Size())
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
		b.measureCmdline(app)
		cmdline = joinSpace(cmdline, app)
	}
	return cmdline, addons, nil
}

// ukiInitrd assembles the initrd in systemd-stub's order: the addons'
// microcode (last addon first), the UKI's .ucode and .initrd, the
// generated archives (credentials, extensions), the literal sections,
// the measurement log, the addons' initrds, the boot-count path. The
// events follow systemd-stub's run(): the archives, then the microcode
// addons, then the initrd addons.
func (b *builder) ukiInitrd(prof *uki.Profile, addons []addon, rule PCR11Rule) error {
	var own []*uki.Section
	for _, name := range []string{uki.SectionUcode, uki.SectionInitrd} {
		if s := prof.Section(name); s != nil {
			if !rule.measures(name) {
				b.note("%s not put into the initrd: systemd-stub %d does not know it (and does not measure it)", name, rule.Release)
				continue
			}
			own = append(own, s)
		}
	}
	ucode, err := b.initrdStart(own, addons)
	if err != nil {
		return err
	}
	if err := b.sidecars(); err != nil {
		return err
	}
	b.plan.Events = append(b.plan.Events, ucode...)
	for _, lit := range []struct{ section, file string }{
		{uki.SectionPCRSig, "tpm2-pcr-signature.json"},
		{uki.SectionPCRPKey, "tpm2-pcr-public-key.pem"},
		{uki.SectionOSRel, "os-release"},
		{uki.SectionProfile, "profile"},
	} {
		if s := prof.Section(lit.section); s != nil {
			if lit.section == uki.SectionProfile && !rule.measures(lit.section) {
				continue // that stub knows no profiles (noted above when one was asked for)
			}
			if err := b.literal(lit.section, lit.file, s.Size(), s.Open()); err != nil {
				return err
			}
		}
	}
	if err := b.addonInitrds(addons); err != nil {
		return err
	}
	if err := b.bootCountPath(); err != nil {
		return err
	}
	return b.finishInitrd()
}

// initrdStart starts the initrd with the addons' microcode (last addon
// first) and own, the UKI's .ucode and .initrd that go in, and returns
// the addons' microcode events. When no addon has .ucode and the one
// pass put exactly own in the initrd's memfd, that memfd is the start of
// the initrd; otherwise the initrd is built again, reading own from the
// private copy: then, until the plan is built, the initrd is held twice
// (the one pass's memfd and the new one).
func (b *builder) initrdStart(own []*uki.Section, addons []addon) ([]measure.Event, error) {
	var withUcode []addon
	for i := len(addons) - 1; i >= 0; i-- {
		if addons[i].file.Section(uki.SectionUcode) != nil {
			withUcode = append(withUcode, addons[i])
		}
	}
	if len(withUcode) == 0 {
		if w := b.img.takeInitrd(own); w != nil {
			b.initrd = w
			for i, s := range own {
				p := Piece{Description: s.Name, Offset: b.img.initrdOffsets[i], Size: s.Size()}
				copy(p.SHA256[:], b.img.digests[s][measure.SHA256])
				b.plan.Pieces = append(b.plan.Pieces, p)
			}
			return nil, nil
		}
	}
	if err := b.startInitrd(); err != nil {
		return nil, err
	}
	var ucode []measure.Event
	for _, a := range withUcode {
		s := a.file.Section(uki.SectionUcode)
		d, err := b.addSection("addon "+a.name+" .ucode", s, true)
		if err != nil {
			return nil, err
		}
		ucode = append(ucode, b.event(PCRKernelConfig, measure.EvEventTag, measure.TagUcodeAddon, path.Base(a.name), d, s.Size()))
	}
	for _, s := range own {
		// Measured into PCR 11 already (measureSections): the piece's
		// SHA-256 is the section's.
		d, ok := b.img.digests[s]
		if !ok {
			if _, err := b.addSection(s.Name, s, false); err != nil {
				return nil, err
			}
			continue
		}
		if err := b.appendPiece(s.Name, s.Open(), s.Size(), d[measure.SHA256]); err != nil {
			return nil, err
		}
	}
	return ucode, nil
}

// addonInitrds measures the addons' initrds (INITRD_ADDON tagged events,
// as measure_and_append_initrd_addons does), writes the log (which lists
// them), then appends them; the copy must give the bytes measured.
func (b *builder) addonInitrds(addons []addon) error {
	type measured struct {
		name string
		s    *uki.Section
		sum  []byte
	}
	var initrds []measured
	for _, a := range addons {
		if s := a.file.Section(uki.SectionInitrd); s != nil {
			d, err := b.hashSection(s)
			if err != nil {
				return err
			}
			b.tagged(measure.TagInitrdAddon, path.Base(a.name), d, s.Size())
			initrds = append(initrds, measured{a.name, s, d[measure.SHA256]})
		}
	}
	if err := b.measureLog(); err != nil {
		return err
	}
	for _, m := range initrds {
		// Measured before the log was written; the copy is checked.
		d, err := b.addSection("addon "+m.name+" .initrd", m.s, false)
		if err != nil {
			return err
		}
		if !bytes.Equal(d[measure.SHA256], m.sum) {
			return fmt.Errorf("addon %s: .initrd changed between measuring and copying it", m.name)
		}
	}
	return nil
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

// baseProfile is the base profile of an addon (every valid file has one).
func baseProfile(f *uki.File) *uki.Profile {
	p, _ := f.Profile(0)
	return p
}

// sectionDigests returns the digests of s, a section of the UKI, in every
// bank and SHA-256: the one pass's, else hashed from the private copy
// and kept, so that the kernel and the initrd pieces reuse them.
func (b *builder) sectionDigests(s *uki.Section) (measure.Digests, error) {
	if d, ok := b.img.digests[s]; ok {
		return d, nil
	}
	d, err := b.hashSection(s)
	if err != nil {
		return nil, err
	}
	if b.img.digests == nil {
		b.img.digests = map[*uki.Section]measure.Digests{}
	}
	b.img.digests[s] = d
	return d, nil
}

// kernel returns the kernel: the one pass's memfd, else a copy of linux
// from the private copy. Its SHA-256 is the section's digest when
// measureSections computed it.
func (b *builder) kernel(linux *uki.Section) (*Blob, error) {
	if k := b.img.takeKernel(linux); k != nil {
		return k, nil
	}
	d, ok := b.img.digests[linux]
	if !ok {
		return snapshot("linux", linux.Open(), linux.Size())
	}
	k, err := snapshotUnhashed("linux", linux.Open(), linux.Size())
	if err == nil {
		copy(k.SHA256[:], d[measure.SHA256])
	}
	return k, err
}

// hashSection returns the digests of s in every bank and SHA-256.
func (b *builder) hashSection(s *uki.Section) (measure.Digests, error) {
	h := b.hasher()
	if _, err := io.CopyBuffer(h, s.Open(), make([]byte, copyBufferSize)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Name, err)
	}
	return h.Sum(), nil
}

// addSection appends s, padded, as addPiece does.
func (b *builder) addSection(desc string, s *uki.Section, measured bool) (measure.Digests, error) {
	return b.addPiece(desc, s.Open(), s.Size(), true, measured)
}

// measureLog adds /.extra/tpm2-measure.log with every event so far
// (MeasurePolicy.Log), unmeasured, as systemd's log of them.
func (b *builder) measureLog() error {
	if !b.pol.Measure.Log {
		return nil
	}
	var buf bytes.Buffer
	if err := measure.WriteLog(&buf, b.plan.Events); err != nil {
		return err
	}
	return b.literal("measured boot", "tpm2-measure.log", int64(buf.Len()), &buf)
}

// literal wraps data as /.extra/<file> (not measured: the section itself
// was, or must not be).
func (b *builder) literal(section, file string, size int64, r io.Reader) error {
	start := b.initrd.size
	h := measure.NewHasher(measure.Banks{measure.SHA256})
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
	copy(p.SHA256[:], h.Sum()[measure.SHA256])
	b.plan.Pieces = append(b.plan.Pieces, p)
	return b.initrd.pad()
}
