package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// The values of -measure.
const (
	measureAuto    = "auto"    // extend when there is a TPM; boot without one
	measureRequire = "require" // boot only what was extended in full
	measureOff     = "off"     // never touch the TPM
)

// checkMeasureFlags validates -measure and -pcr-banks.
func checkMeasureFlags(o *options) string {
	switch o.measure {
	case measureAuto, measureRequire, measureOff:
	default:
		return fmt.Sprintf("-measure %q: use auto, require or off", o.measure)
	}
	if o.pcrBanks != "auto" {
		if _, err := measure.ParseBanks(o.pcrBanks); err != nil {
			return fmt.Sprintf("-pcr-banks %q: %v, comma-separated, or auto", o.pcrBanks, err)
		}
	}
	return ""
}

// tpmRun is the TPM of one run of ukiboot, shared by the pipelines a menu
// rescan opens: it is opened once, says once that there is none, and
// extends the separator once.
type tpmRun struct {
	mode  string // -measure
	banks string // -pcr-banks
	// open opens the TPM (measure.Open); nil: the machine has none.
	open func() (measure.TPM, error)
	// guard says that this run must close PCRs 7, 11, 12 and 13 before a
	// shell is reachable (closeShellDoor): a boot mode (the menu, -auto)
	// without -dry-run, and without -no-reboot unless init runs ukiboot
	// (its exit starts init's shell on the boot's PCR values), and
	// -measure is not off.
	guard bool
	logf  func(string, ...any)

	mu     sync.Mutex
	opened bool
	tpm    measure.TPM
	err    error         // why tpm is nil, once opened
	active measure.Banks // the TPM's active banks, ukiboot's or not
	said   map[string]bool
	closed bool // the separator was extended
}

func newTPMRun(o *options, open func() (measure.TPM, error), logf func(string, ...any)) *tpmRun {
	r := &tpmRun{mode: o.measure, banks: o.pcrBanks, open: open, logf: logf, said: map[string]bool{}}
	if r.mode == "" {
		r.mode = measureAuto
	}
	if r.banks == "" {
		r.banks = "auto"
	}
	boot := !o.list && o.inspect == "" && !o.dryRun && (!o.noReboot || o.initProgram)
	r.guard = boot && r.mode != measureOff
	return r
}

// device returns the TPM, opening it the first time; r.mu is held.
func (r *tpmRun) device() measure.TPM {
	if r.opened {
		return r.tpm
	}
	r.opened = true
	if r.open == nil {
		r.err = measure.ErrNoTPM
		return nil
	}
	t, err := r.open()
	if err != nil {
		r.err = err
		return nil
	}
	if r.active, err = t.Banks(); err != nil {
		t.Close()
		r.err = err
		return nil
	}
	r.tpm = t
	return t
}

// once logs a message the first time key is said in this run.
func (r *tpmRun) once(key, format string, args ...any) {
	if !r.said[key] {
		r.said[key] = true
		r.logf(format, args...)
	}
}

// planBanks are the banks events are computed for: -pcr-banks LIST, or
// (auto) the TPM's active banks ukiboot can compute, or without a TPM (or
// with -measure off) measure.DefaultBanks, for -dry-run.
func (r *tpmRun) planBanks() measure.Banks {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.planBanksLocked()
}

// planBanksLocked is planBanks with r.mu held.
func (r *tpmRun) planBanksLocked() measure.Banks {
	if r.banks != "auto" {
		b, _ := measure.ParseBanks(r.banks) // checkMeasureFlags
		return b
	}
	if r.mode == measureOff {
		return measure.DefaultBanks
	}
	var b measure.Banks
	if r.device() != nil {
		b = slices.DeleteFunc(slices.Clone(r.active), func(a measure.Alg) bool { return !a.Supported() })
	}
	if len(b) == 0 {
		return measure.DefaultBanks
	}
	return b
}

// activeOf are the banks of b the TPM has active; r.mu is held.
func (r *tpmRun) activeOf(b measure.Banks) measure.Banks {
	return slices.DeleteFunc(slices.Clone(b), func(a measure.Alg) bool { return !slices.Contains(r.active, a) })
}

// onlyBanks returns events with the digests of banks only.
func onlyBanks(events []measure.Event, banks measure.Banks) []measure.Event {
	out := make([]measure.Event, len(events))
	for i, e := range events {
		e.Digests = maps.Clone(e.Digests)
		maps.DeleteFunc(e.Digests, func(a measure.Alg, _ []byte) bool { return !slices.Contains(banks, a) })
		out[i] = e
	}
	return out
}

// gaps are the TPM's active banks a boot leaves at their reset value:
// those ukiboot cannot compute (SM3-256) and those -pcr-banks leaves
// out; r.mu is held and the TPM is open.
func (r *tpmRun) gaps(planned measure.Banks) (unsupported, left measure.Banks) {
	for _, a := range r.active {
		switch {
		case !a.Supported():
			unsupported = append(unsupported, a)
		case !slices.Contains(planned, a):
			left = append(left, a)
		}
	}
	return unsupported, left
}

// ready says whether a commit may go on as far as the TPM is concerned,
// before anything is renamed or loaded. With -measure require it refuses
// without a TPM and when an active bank would not be extended; otherwise
// it says so, once per run, and lets the boot go on.
func (r *tpmRun) ready() error {
	if r.mode == measureOff {
		return nil
	}
	planned := r.planBanks()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.device() == nil {
		if r.mode == measureRequire {
			return fmt.Errorf("-measure require, but %v: nothing could be measured, so nothing boots (-measure auto boots unmeasured)", r.err)
		}
		r.once("no tpm", "TPM: %v: nothing is measured", r.err)
		return nil
	}
	unsupported, left := r.gaps(planned)
	var msgs []string
	if len(unsupported) > 0 {
		msgs = append(msgs, fmt.Sprintf("the TPM's active PCR bank %s cannot be computed by ukiboot", unsupported))
	}
	if len(left) > 0 {
		msgs = append(msgs, fmt.Sprintf("the TPM's active PCR bank %s is not in -pcr-banks %s", left, r.banks))
	}
	if len(msgs) == 0 {
		return nil
	}
	msg := strings.Join(msgs, "; ") + ": it is NOT extended, so PCRs 7, 11, 12 and 13 of that bank stay at their reset value and a secret sealed to them does not depend on what boots"
	if r.mode == measureRequire {
		return errors.New("-measure require: " + msg)
	}
	r.once("gaps", "WARNING: %s", msg)
	return nil
}

// extend extends events, in order, after the kernel was loaded. It
// warns when the PCRs are not at their reset value (the values will not
// be those -dry-run predicts) and when an extend fails; the error it
// returns (only with -measure require) means the boot must not go on.
func (r *tpmRun) extend(events []measure.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.device()
	if t == nil || len(events) == 0 {
		return nil // ready said so, or refused
	}
	pcrs := measure.PCRs(events)
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if r.mode == measureRequire {
			return errors.New("-measure require: " + msg)
		}
		r.logf("WARNING: %s; booting anyway: secrets sealed to PCRs %s will not unseal", msg, pcrList(pcrs))
		return nil
	}
	if r.closed {
		return fail("TPM: PCRs 7, 11, 12 and 13 were already closed by the separator")
	}
	// Only the active banks: a TPM refuses a digest for a bank it has
	// not allocated (-pcr-banks may name one, for -dry-run).
	banks := r.activeOf(r.planBanksLocked())
	if len(banks) == 0 {
		return fail("TPM: none of the banks %s is active (active: %s)", r.planBanksLocked(), r.active)
	}
	events = onlyBanks(events, banks)
	stale, firmware, err := notAtReset(t, banks, pcrs)
	if err != nil {
		return fail("TPM: %v", err)
	}
	if len(stale) > 0 {
		r.logf("TPM: PCR %s not at the reset value (an earlier boot attempt, or a running OS): after this boot they will not hold the values -dry-run predicts", pcrList(stale))
	}
	if len(firmware) > 0 {
		r.logf("TPM: PCR %s: the firmware measured into it already; ukiboot's events extend it from there", pcrList(firmware))
	}
	n, err := measure.Extend(t, events)
	if err != nil {
		return fail("TPM: extended %d of %d events: %v", n, len(events), err)
	}
	r.logf("TPM: extended %d events into PCR %s (%s)", n, pcrList(pcrs), banks)
	return nil
}

func pcrList(pcrs []int) string {
	s := make([]string, len(pcrs))
	for i, p := range pcrs {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// measurePolicy builds the plan's measuring policy: the banks, ukiboot's
// PCR 7 events, and whether the boot extends the TPM (Log, ForceMeasure:
// -measure is not off, there is a TPM, and -no-reboot extends only with
// -measure require). -dry-run plans as the boot would.
func (p *pipeline) measurePolicy() stub.MeasurePolicy {
	r := p.o.tpm
	tp := trustPolicy{mode: p.verify.Mode, lockdown: p.sys.platform.lockdown(), store: p.verify.Store}
	mp := stub.MeasurePolicy{Banks: r.planBanks(), PolicyEvents: tp.policyEvents}
	if p.config != nil && p.config.Loader != nil {
		c := p.config.Loader
		mp.LoaderConf = c.Raw
	}
	if r.mode == measureOff || (p.o.noReboot && r.mode != measureRequire) {
		return mp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// After the shell door was closed (the menu's shell), nothing of this
	// boot is extended (extend refuses): hand the next OS no log that the
	// TPM would contradict, and do not tell it the boot was measured.
	will := r.device() != nil && !r.closed
	mp.Log, mp.ForceMeasure = will, will
	return mp
}

// measureLoaded extends the plan's events after kexec_file_load
// succeeded. With -no-reboot it extends nothing (a running OS's PCRs
// are in use), unless -measure require. An error (-measure require only)
// means the loaded kernel must not start.
func (p *pipeline) measureLoaded(bp *bootPlan) error {
	r := p.o.tpm
	switch {
	case r.mode == measureOff:
		return nil
	case p.o.noReboot && r.mode != measureRequire:
		p.logf("-no-reboot: nothing is extended into the TPM (a running OS's PCRs are not at their reset value); -measure require extends anyway")
		return nil
	}
	return r.extend(bp.stub.Events)
}

// unloadRefused drops the kernel a failed measurement refused, so that
// no later reboot starts it.
func (p *pipeline) unloadRefused(id string) {
	if p.sys.unload == nil {
		return
	}
	if err := p.sys.unload(); err != nil {
		p.logf("cannot unload %s after its measurement failed: %v (a later 'kexec -e' would start it unmeasured)", id, err)
	}
}

// notAtReset reads which of pcrs are not at their reset value in banks.
// stale are PCRs 11, 12 and 13, which only systemd-stub (and so only
// ukiboot) measures into: not at reset, they mean an earlier attempt or a
// running OS. firmware are the others (PCRs 5 and 7), which firmware
// measures into before any boot loader (SeaBIOS's separators, UEFI's
// Secure Boot state): ukiboot's events extend them from there.
func notAtReset(t measure.TPM, banks measure.Banks, pcrs []int) (stale, firmware []int, err error) {
	all, err := measure.NotAtReset(t, banks, pcrs)
	if err != nil {
		return nil, nil, err
	}
	for _, pcr := range all {
		if pcr >= measure.PCRKernelBoot {
			stale = append(stale, pcr)
		} else {
			firmware = append(firmware, pcr)
		}
	}
	return stale, firmware, nil
}
