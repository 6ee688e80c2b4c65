package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/kexec"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"golang.org/x/sys/unix"
)

// system is what ukiboot does to the machine; tests replace it.
type system struct {
	// roots mounts the ESP/XBOOTLDR partitions and returns their
	// directories (ESP first) and a function that unmounts them.
	roots func(o *options, log func(string, ...any)) (*partitions, error)
	// vars are the boot loader's EFI variables (nil: none). When they
	// also implement writableVars, a boot writes them as systemd-boot
	// does (loaderVarWrites) and the menu's d can change the default.
	vars bls.Vars
	load func(kernel, initrd *os.File, cmdline string) error
	// reboot starts the loaded kernel (kexec reboot).
	reboot func() error
	// ranFor is how long ukiboot has run (its supervisor's process
	// included), logged before the reboot; nil: not logged (tests).
	ranFor func() (time.Duration, error)
	// disarmWatchdog disarms u-root's watchdog daemon right before reboot;
	// nil: leave it (UROOT_KEXEC_DISARM_WATCHDOG is not 1).
	disarmWatchdog func() error
	// power reboots or powers off (reboot(2) commands).
	power func(cmd int) error
	// stdin is the console the menu reads keys from.
	stdin *os.File
	// check verifies an entry for the menu's verdicts; nil means
	// (*pipeline).check (tests slow it down).
	check func(*pipeline, *bls.Entry) entryCheck
	// wrapUKI wraps the reader each UKI is read through for the entries
	// (bls.Options.WrapReader) and for the verdicts -list and the menu
	// show (check), so tests can count what they read; nil in production.
	wrapUKI func(name string, r io.ReaderAt) io.ReaderAt
	// shell is the command the menu's s key runs (argv); nil: the
	// initramfs's shell (findShell).
	shell []string
	// term is the console's TERM: the menu draws in place with VT100
	// sequences unless it is dumb (menu.TermANSI).
	term string
	// platform says whether the kernel is locked down and where the trust
	// stores are.
	platform platform
	// smbios is the file system (rooted at "/") the SMBIOS OEM strings
	// and the signs of a confidential VM are read from; nil: none.
	smbios fs.FS
	// tpm opens the TPM (measure.Open); nil: none (tests use measure.Fake).
	tpm func() (measure.TPM, error)
	// unload drops a loaded kernel (kexec.Unload); nil: nothing to do.
	unload func() error
	// signals delivers SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGTSTP to c
	// and returns what stops it; die then ends ukiboot by the signal.
	// nil: not watched.
	signals func(c chan<- os.Signal) (stop func())
	die     func(os.Signal)
	// releaseSignals, in a run that watches no signal (no boot mode, or
	// nothing to close), gives back the end signals main held from its
	// first line (earlySignals.release); nil: none were held.
	releaseSignals func()
	// supervise runs a boot (inProcess when it cannot start a child) in a
	// supervised child and closes the shell door when it ends
	// (supervisor.run); nil: the boot runs in this process (tests, and
	// the child itself).
	supervise func(inProcess func() int, closeDoor func(why string) error, logf func(string, ...any)) int
	// supervised says that this process is the boot process a
	// supervisor started (supervisedEnv).
	supervised bool
	// netUp brings the network up before the first network request
	// (pkg/netup.Up, netboot.go); nil: never (tests, -tags nonetboot).
	netUp func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error
	// initProgram says that ukiboot is the program u-root's init runs
	// (its parent is PID 1, or it is that program's supervised child):
	// its exit starts init's shell.
	initProgram bool
}

func realSystem() system {
	sys := system{roots: scanDisks, vars: efiVars(os.Getenv("UKIBOOT_EFIVARS")), load: kexec.Load, reboot: kexec.Reboot,
		platform: realPlatform(), power: unix.Reboot, stdin: os.Stdin, term: os.Getenv("TERM"), smbios: hostRoot(),
		tpm: measure.Open, unload: kexec.Unload, signals: notifyEndSignals, die: dieOf, netUp: realNetUp(),
		disarmWatchdog: watchdogDisarmer(os.Getenv, func() error { return disarmWatchdogd(watchdogdSocket, 5*time.Second) })}
	sys.ranFor = func() (time.Duration, error) { return runningFor(os.Getpid()) }
	if os.Getenv(supervisedEnv) == "1" {
		os.Unsetenv(supervisedEnv) // not for the menu's shell and what it runs
		sys.supervised = true
		sys.initProgram = true // only a supervisor that init started sets it
		// ukiboot started as the supervisor, this process's parent.
		sys.ranFor = func() (time.Duration, error) { return runningFor(os.Getppid()) }
	} else {
		sys.supervise = selfSupervisor().run
		sys.initProgram = os.Getppid() == 1
	}
	return sys
}

// efiVars returns the boot loader variables of this machine: efivarfs when
// mounted, else none (coreboot). dir names another directory (tests set
// UKIBOOT_EFIVARS).
func efiVars(dir string) bls.Vars {
	e := bls.EFIVarFS{Dir: dir}
	if e.Available() {
		return e
	}
	return bls.NoVars{}
}

// autoBoot runs -auto and -dry-run -auto: walk the candidates in order,
// plan each, and commit (or, with -dry-run, print) the first whose plan
// can be built and, when committing, loaded.
func autoBoot(o *options, sys system, stdout, stderr io.Writer) int {
	p, logf := startPipeline(o, sys, stdout, stderr)
	if p == nil {
		return 1
	}
	defer p.close()
	for _, e := range p.config.Entries {
		if e.Err != nil && (o.entry == "" || bls.MatchID(o.entry, e.ID)) {
			logf("cannot boot %s: %v", e.ID, e.Err)
		}
	}
	list := p.candidates()
	if len(list) == 0 {
		if o.entry != "" {
			logf("no entry matches %q", o.entry)
			for _, e := range p.config.Hidden {
				if bls.MatchID(o.entry, e.ID) {
					logf("%s is not listed, as systemd-boot would not list it: %v (see -list -v)", e.ID, e.Err)
				}
			}
		} else {
			logf("no bootable entry on %v", p.parts.dirs)
		}
		return 1
	}
	logf("verification: %s (%s)", p.verify.Mode, p.why)
	// A UKI file found untrusted is not read and verified again for its
	// other entries (its profiles, type #1 entries naming it): the
	// signature covers the whole file, and an unverified UKI with 256
	// profiles would otherwise be copied and hashed 256 times.
	untrusted := map[[2]string]string{}
	for _, e := range list {
		file := [2]string{"", e.UKI}
		if e.Root != nil {
			file[0] = e.Root.Path
		}
		if first, ok := untrusted[file]; ok && e.UKI != "" {
			logf("cannot boot %s: its UKI is the file of %s, which is not trusted", e.ID, first)
			continue
		}
		bp, err := p.plan(e, nil)
		if err != nil {
			if ue := (*stub.UntrustedError)(nil); e.UKI != "" && errors.As(err, &ue) {
				untrusted[file] = e.ID
			}
			logf("cannot boot %s: %v", e.ID, err)
			continue
		}
		if done, rc, _ := p.boot(bp); done {
			return rc
		}
	}
	logf("nothing could be booted")
	return 1
}

func initrdFile(p *stub.Plan) *os.File {
	if p.Initrd == nil {
		return nil
	}
	return p.Initrd.File
}

type blobJSON struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type planJSON struct {
	Entry        string            `json:"entry"`
	Title        string            `json:"title"`
	Path         string            `json:"path"`
	Kernel       blobJSON          `json:"kernel"`
	Initrd       *blobJSON         `json:"initrd"`
	Cmdline      string            `json:"cmdline"`
	Verification map[string]string `json:"verification"`
	Pieces       []pieceJSON       `json:"initrd_pieces"`
	Measurements []measureJSON     `json:"measurements"`
	// Predicted are PCRs 7, 11, 12 and 13 per bank after the events,
	// from the reset value.
	Predicted map[string]map[string]string `json:"predicted_pcrs"`
	PCR11Rule string                       `json:"pcr11_rule,omitempty"`
	// TPM is what a boot would do to this machine's TPM (-dry-run).
	TPM   *tpmReport `json:"tpm,omitempty"`
	Notes []string   `json:"notes"`
}

type pieceJSON struct {
	Description string `json:"description"`
	Offset      int64  `json:"offset"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

type measureJSON struct {
	PCR         int               `json:"pcr"`
	Type        string            `json:"type"`
	Tag         string            `json:"tag,omitempty"`
	Description string            `json:"description"`
	EventData   string            `json:"event_data"`
	SHA256      string            `json:"sha256,omitempty"`
	Digests     map[string]string `json:"digests"`
}

func toMeasureJSON(e measure.Event) measureJSON {
	m := measureJSON{PCR: e.PCR, Type: e.Type.String(), Description: e.Description,
		EventData: hex.EncodeToString(e.EventData()), SHA256: hex.EncodeToString(e.Digests[measure.SHA256]), Digests: digestsJSON(e.Digests)}
	if e.Type == measure.EvEventTag {
		m.Tag = fmt.Sprintf("0x%08x", e.Tag)
	}
	return m
}

func digestsJSON(d measure.Digests) map[string]string {
	out := map[string]string{}
	for a, v := range d {
		out[a.String()] = hex.EncodeToString(v)
	}
	return out
}

// predictedJSON replays the events from the reset value: PCRs 7, 11, 12
// and 13 in every bank.
func predictedJSON(p *stub.Plan) map[string]map[string]string {
	got := measure.Replay(p.Banks, p.Events)
	out := map[string]map[string]string{}
	for _, pcr := range shellPCRs() {
		v, ok := got[pcr]
		if !ok {
			v = measure.Digests{}
			for _, a := range p.Banks {
				v[a] = measure.Reset(a)
			}
		}
		out[fmt.Sprint(pcr)] = digestsJSON(v)
	}
	return out
}

func toPlanJSON(p *stub.Plan) planJSON {
	j := planJSON{
		Entry: p.Entry.ID, Title: p.Entry.Title, Path: p.Entry.Path,
		Kernel:  blobJSON{p.Kernel.Size, hex.EncodeToString(p.Kernel.SHA256[:])},
		Cmdline: p.Cmdline, Notes: p.Notes,
		Verification: verificationJSON(p.Verdict),
		Pieces:       []pieceJSON{}, Measurements: []measureJSON{},
		Predicted: predictedJSON(p), PCR11Rule: p.PCR11Rule,
	}
	if j.Notes == nil {
		j.Notes = []string{}
	}
	if p.Initrd != nil {
		j.Initrd = &blobJSON{p.Initrd.Size, hex.EncodeToString(p.Initrd.SHA256[:])}
	}
	for _, pc := range p.Pieces {
		j.Pieces = append(j.Pieces, pieceJSON{pc.Description, pc.Offset, pc.Size, hex.EncodeToString(pc.SHA256[:])})
	}
	for _, e := range p.Events {
		j.Measurements = append(j.Measurements, toMeasureJSON(e))
	}
	return j
}

// printPlan prints the plan; rep, when not nil, is what the boot would do
// to the TPM.
func printPlan(w io.Writer, p *stub.Plan, rep *tpmReport, asJSON bool) error {
	j := toPlanJSON(p)
	j.TPM = rep
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(j)
	}
	w = printableWriter{w}
	fmt.Fprintf(w, "entry:    %s (%s)\n", j.Entry, j.Title)
	fmt.Fprintf(w, "path:     %s\n", j.Path)
	fmt.Fprintf(w, "kernel:   %d bytes, sha256 %s\n", j.Kernel.Size, j.Kernel.SHA256)
	if j.Initrd != nil {
		fmt.Fprintf(w, "initrd:   %d bytes, sha256 %s\n", j.Initrd.Size, j.Initrd.SHA256)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, pc := range j.Pieces {
			fmt.Fprintf(tw, "  @%d\t%d bytes\t%s\n", pc.Offset, pc.Size, pc.Description)
		}
		tw.Flush()
	} else {
		fmt.Fprintf(w, "initrd:   none\n")
	}
	fmt.Fprintf(w, "cmdline:  %s\n", j.Cmdline)
	fmt.Fprintf(w, "verified: %s\n", j.Verification["verdict"])
	if j.PCR11Rule != "" {
		fmt.Fprintf(w, "pcr 11:   %s\n", j.PCR11Rule)
	}
	if len(j.Measurements) > 0 {
		printEvents(w, p, j.Predicted)
	}
	if rep != nil {
		rep.writeText(w)
	}
	for _, n := range j.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	return nil
}

// extract writes the plan's kernel, initrd and cmdline into dir.
func extract(p *stub.Plan, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	put := func(name string, b *stub.Blob) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.NewSectionReader(b.File, 0, b.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := put("kernel", p.Kernel); err != nil {
		return err
	}
	if p.Initrd != nil {
		if err := put("initrd", p.Initrd); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, "initrd")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "cmdline"), []byte(p.Cmdline), 0o644)
}

func verificationJSON(v *authenticode.Verdict) map[string]string {
	if v == nil {
		return map[string]string{"verdict": "unverified", "signer": "", "reason": "verification is off"}
	}
	return map[string]string{"verdict": string(v.Status), "signer": v.Signer, "anchor": v.Anchor, "reason": v.Reason}
}

// printEvents lists the events, their digests in every bank, and the
// predicted PCR values (predictedJSON).
func printEvents(w io.Writer, p *stub.Plan, pred map[string]map[string]string) {
	fmt.Fprintf(w, "measurements (banks %s):\n", p.Banks)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range p.Events {
		kind := e.Type.String()
		if e.Type == measure.EvEventTag {
			kind += fmt.Sprintf(" 0x%08x", e.Tag)
		}
		for i, a := range p.Banks {
			if i == 0 {
				fmt.Fprintf(tw, "  PCR %d\t%s\t%s %x\t%s\n", e.PCR, kind, a, e.Digests[a], e.Description)
			} else {
				fmt.Fprintf(tw, "  \t\t%s %x\t\n", a, e.Digests[a])
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "predicted PCRs (from reset):\n")
	for _, pcr := range shellPCRs() {
		for _, a := range p.Banks {
			fmt.Fprintf(w, "  PCR %-2d %s %s\n", pcr, a, pred[fmt.Sprint(pcr)][a.String()])
		}
	}
}
