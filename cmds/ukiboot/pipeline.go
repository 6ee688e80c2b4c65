package main

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sync"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/kexec"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// pipeline is the one boot flow every mode walks:
// open the partitions, the EFI variables and the verification policy;
// read the entries (pkg/bls, no trust); compute the candidates once; plan
// one; commit it. The modes differ only in how a candidate is chosen and
// whether the commit happens.
type pipeline struct {
	o      *options
	sys    system
	stdout io.Writer // plans and lists
	logf   func(string, ...any)
	parts  *partitions
	config *bls.Config
	// verify is the signature policy; why says why it is what it is.
	verify stub.Verification
	why    string
	// smbios is what the SMBIOS OEM strings contribute (-smbios).
	smbios smbiosState
	// net reads the network entries (netboot.go).
	net    *netBoot
	closed bool
	// verdicts remembers each UKI file's verdict (the menu's background
	// checks and -list -verify-all); mu guards it.
	mu       sync.Mutex
	verdicts map[ukiKey]fileVerdict
}

// startPipeline opens the pipeline for a mode, with a logf that writes
// "ukiboot: ..." lines to stderr; it logs why it could not (p is nil).
func startPipeline(o *options, sys system, stdout, stderr io.Writer) (p *pipeline, logf func(string, ...any)) {
	logf = func(format string, args ...any) {
		fmt.Fprint(stderr, "ukiboot: "+printable(fmt.Sprintf(format, args...))+"\n")
	}
	p, err := openPipeline(o, sys, stdout, logf)
	if err != nil {
		logf("%v", err)
		return nil, logf
	}
	return p, logf
}

// openPipeline mounts (or takes) the partitions, works out the policy and
// reads the entries (with -v, it logs the scanner's warnings).
func openPipeline(o *options, sys system, stdout io.Writer, logf func(string, ...any)) (*pipeline, error) {
	parts, err := sys.roots(o, logf)
	if err != nil && len(o.urls) == 0 {
		return nil, err
	}
	if err != nil {
		// The -url entries boot without a disk.
		logf("%v", err)
		parts = noPartitions()
	}
	p := &pipeline{o: o, sys: sys, stdout: stdout, logf: logf, parts: parts, net: newNetBoot(o, sys, logf)}
	if o.tpm == nil {
		o.tpm = newTPMRun(o, sys.tpm, logf)
	}
	if p.verify, p.why, err = sys.platform.policy(o); err != nil {
		parts.close()
		return nil, err
	}
	vars := sys.vars
	if vars == nil {
		vars = bls.NoVars{}
	}
	p.loadSMBIOS()
	bo := bls.Options{Vars: vars, Display: parts.display, WrapReader: sys.wrapUKI, Extra: p.smbios.entries}
	p.net.blsOptions(&bo)
	p.config, err = bls.Load(parts.dirs, bo)
	p.net.endListing()
	if err != nil {
		parts.close()
		return nil, err
	}
	if o.verbose {
		for _, w := range p.config.Warnings {
			logf("warning: %s", w)
		}
	}
	return p, nil
}

// close releases the entries and unmounts the partitions; it may be
// called more than once.
func (p *pipeline) close() {
	if p.closed {
		return
	}
	p.closed = true
	p.config.Close()
	p.parts.close()
}

// candidates is the order -auto walks and -list shows, computed by one
// rule for every mode. The default is chosen as systemd-boot chooses it
// (LoaderEntryOneShot, LoaderEntryDefault, loader.conf's default, the
// first entry); trust does not move it. After it come the other
// well-formed entries in menu order. With -entry, the matching entries in
// menu order. An entry that fails verification or loading is passed over
// when the commit is tried, not here.
func (p *pipeline) candidates() []*bls.Entry {
	c := p.config
	var out []*bls.Entry
	if p.o.entry != "" {
		for _, e := range c.Entries {
			if e.Bootable() && bls.MatchID(p.o.entry, e.ID) {
				out = append(out, e)
			}
		}
		return out
	}
	if c.Default >= 0 {
		out = append(out, c.Entries[c.Default])
	}
	for i, e := range c.Entries {
		if i != c.Default && e.Bootable() {
			out = append(out, e)
		}
	}
	return out
}

// bootPlan is everything a commit will do, known before anything is
// written: the boot-counting rename and what is loaded.
type bootPlan struct {
	entry  *bls.Entry
	target stub.Target // what the stub plan is built from
	policy stub.Policy
	// rename is the boot-counting rename (paths on the entry's
	// partition); nil when the entry has no counter.
	rename *countRename
	stub   *stub.Plan
}

type countRename struct{ from, to string }

// plan builds what booting e would load. cmdline, when not nil, replaces
// the entry's own arguments (the menu's editor).
func (p *pipeline) plan(e *bls.Entry, cmdline *string) (*bootPlan, error) {
	bp := &bootPlan{entry: e, policy: stub.Policy{Append: p.o.append, Verify: p.verify, MaxSize: p.o.maxSize}}
	bp.policy.Console = p.console()
	bp.policy.Measure = p.measurePolicy()
	bp.policy.SMBIOS = p.smbios.extra
	bp.policy.Hardware = stub.ReadHardware(p.sys.smbios)
	if cmdline != nil {
		bp.policy.Cmdline, bp.policy.CmdlineSet = *cmdline, true
	}
	var t stub.Target
	var err error
	if e.Network() {
		t, err = p.net.target(e, &bp.policy)
	} else {
		t, err = stub.TargetOf(e)
	}
	var sp *stub.Plan
	if err == nil {
		bp.target = t
		if t.BootCountPath != "" {
			bp.rename = &countRename{from: e.Path, to: t.BootCountPath}
		}
		sp, err = stub.Build(t, bp.policy)
	}
	if err != nil {
		// Callers say "cannot boot ID: ...": do not name the entry twice.
		var pe *stub.PlanError
		if errors.As(err, &pe) && pe.Entry == e.ID && pe.Reason != nil {
			err = pe.Reason
		}
		return nil, err
	}
	bp.stub = sp
	p.logSMBIOSMeasurement(sp)
	for _, n := range sp.Notes {
		p.logf("note: %s", n)
	}
	return bp, nil
}

// close releases the plan's private copies.
func (bp *bootPlan) close() {
	if bp.stub != nil {
		bp.stub.Close()
	}
}

// errNotRestartable wraps a failure after the partitions were released:
// the caller cannot try another entry.
type errNotRestartable struct{ err error }

func (e errNotRestartable) Error() string { return e.err.Error() }
func (e errNotRestartable) Unwrap() error { return e.err }

// commit does what the plan says, in this order: the TPM check
// (tpmRun.ready), the boot-counting rename, the EFI variables
// (loaderVarWrites), kexec_file_load, the TPM measurements
// (measureLoaded), unmounting, disarming the watchdog (when asked to),
// the reboot (both skipped with -no-reboot). Each step reports its
// own failure. A failed load or a refused measurement returns an error
// and leaves the pipeline open, so another entry can be tried; a failure
// after the partitions were released is an errNotRestartable. The plan
// is closed.
//
// The measurements come after the load, so that a refused load leaves
// no events, and before unmounting and the watchdog's disarming: while
// the watchdog is armed, a TPM that hangs resets the machine, and with
// the partitions still mounted -measure require can move on to the next
// entry.
func (p *pipeline) commit(bp *bootPlan) error {
	defer bp.close()
	e := bp.entry
	p.logf("booting %s (%s)", e.ID, e.ShowTitle)
	if err := p.o.tpm.ready(); err != nil {
		p.logf("cannot boot %s: %v", e.ID, err)
		return err
	}
	if bp.rename != nil {
		if err := p.countBoot(bp); err != nil {
			return err
		}
	}
	p.writeLoaderVars(p.loaderVarWrites(e))
	err := p.sys.load(bp.stub.Kernel.File, initrdFile(bp.stub), bp.stub.Cmdline)
	if err != nil {
		p.logf("cannot load %s: %v", e.ID, err)
		p.explainLoadFailure(err, bp.stub.Verdict)
		return err
	}
	if v := bp.stub.Verdict; v != nil {
		p.logf("%s: %s", e.ID, v)
	}
	if err := p.measureLoaded(bp); err != nil {
		p.logf("cannot boot %s: %v", e.ID, err)
		p.unloadRefused(e.ID)
		return err
	}
	p.close()
	if p.o.noReboot {
		p.logf("loaded %s; -no-reboot: start it with 'kexec -e' or 'systemctl kexec'", e.ID)
		return nil
	}
	p.logf("loaded %s; starting it", e.ID)
	p.disarmWatchdog()
	if p.sys.ranFor != nil {
		if d, err := p.sys.ranFor(); err == nil {
			p.logf("kexec after %.2f s", d.Seconds())
		}
	}
	if err := p.sys.reboot(); err != nil {
		return errNotRestartable{err}
	}
	return nil
}

// countBoot does the planned boot-counting rename. A rename that happened
// is kept in the entry even when making the partition read-only again
// failed. When the rename itself failed, the entry boots without counting
// and its plan is rebuilt so that the OS is not told a name that does not
// exist.
func (p *pipeline) countBoot(bp *bootPlan) error {
	renamed, err := renameEntry(bp.entry, bp.rename.to, p.parts)
	switch {
	case renamed && err != nil:
		p.logf("boot counting: renamed %s to %s, but %v", bp.rename.from, bp.rename.to, err)
		return nil
	case renamed:
		p.logf("boot counting: renamed to %s (%d tries left)", bp.entry.FileName, bp.entry.TriesLeft)
		return nil
	}
	p.logf("boot counting: %v; booting without counting", err)
	bp.target.BootCountPath = ""
	bp.stub.Close()
	bp.stub = nil
	sp, err := stub.Build(bp.target, bp.policy)
	if err != nil {
		p.logf("cannot boot %s: %v", bp.entry.ID, err)
		return err
	}
	bp.stub = sp
	return nil
}

// explainLoadFailure says what to do when the running kernel refused the
// kernel inside a UKI.
func (p *pipeline) explainLoadFailure(err error, v *authenticode.Verdict) {
	var ke *kexec.Error
	if !errors.As(err, &ke) || !ke.InnerSignature {
		return
	}
	envelope := "the UKI's signature was not checked"
	if v != nil && v.Status == authenticode.Trusted {
		envelope = "the UKI's own signature is trusted (signed by " + v.Signer + ")"
	}
	p.logf("%s, but the running kernel's keyrings do not trust the kernel inside it (.linux): "+
		"sign .linux itself with a key the running kernel trusts (its builtin or secondary keyring, "+
		"or the platform keyring filled from UEFI db), or build the ROM kernel with that key", envelope)
}

// boot prints bp with -dry-run, else commits it. done says the mode is
// over, with exit code rc; else err says why bp did not boot (the
// pipeline is still open and another entry can be tried).
func (p *pipeline) boot(bp *bootPlan) (done bool, rc int, err error) {
	if p.o.dryRun {
		err = p.dryRun(bp)
	} else {
		err = p.commit(bp)
		var fatal errNotRestartable
		if err != nil && !errors.As(err, &fatal) {
			return false, 0, err
		}
	}
	if err != nil {
		p.logf("%v", err)
		return true, 1, nil
	}
	return true, 0, nil
}

// dryRun prints the plan instead of committing it: nothing is renamed,
// no variable is changed, nothing is loaded.
func (p *pipeline) dryRun(bp *bootPlan) error {
	defer bp.close()
	p.logf("booting %s (%s)", bp.entry.ID, bp.entry.ShowTitle)
	if bp.rename != nil {
		p.logf("boot counting: would rename %s to %s", path.Base(bp.rename.from), path.Base(bp.rename.to))
	}
	for _, w := range p.loaderVarWrites(bp.entry) {
		p.logf("%s", w.dryRun())
	}
	rep := p.tpmReport(bp.stub.Events)
	err := printPlan(p.stdout, bp.stub, &rep, p.o.json)
	if err == nil && p.o.extract != "" {
		err = extract(bp.stub, p.o.extract)
	}
	return err
}
