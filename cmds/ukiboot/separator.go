package main

import (
	"crypto/sha512"
	"errors"
	"fmt"
	"os"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// shellPCRs are the PCRs closed before a shell is reachable: the
// verification policy and everything systemd-stub measures.
func shellPCRs() []int {
	return []int{measure.PCRSecureBootPolicy, measure.PCRKernelBoot, measure.PCRKernelConfig, measure.PCRSysexts}
}

// closeShellDoor extends measure.Separator into PCRs 7, 11, 12 and 13 of
// every active bank before a shell becomes reachable (why says how), so
// that from the shell no sealed secret unseals: replaying a signed UKI's
// public events no longer reaches the values it was sealed to. It does
// it once per run, only in a boot mode (tpmRun.guard); without a TPM
// device node there is nothing to close, but a TPM that cannot be opened
// or read is an error. A bank ukiboot cannot compute (SM3-256) is
// closed too, with a digest that is not that bank's hash of the
// separator: any extend moves a PCR off every value reachable from reset
// by the UKI's events. It returns an error when a PCR could not be
// closed: the caller must not start the shell it guards.
func (r *tpmRun) closeShellDoor(why string) error {
	if r == nil || !r.guard {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	t := r.device()
	if t == nil && errors.Is(r.err, measure.ErrNoTPM) {
		r.once("no tpm", "TPM: %v: nothing is measured", r.err)
		return nil
	}
	if t == nil {
		r.logf("WARNING: TPM: %v: cannot close PCRs 7, 11, 12 and 13 before %s", r.err, why)
		return fmt.Errorf("PCRs 7, 11, 12 and 13 could not be closed before %s: %w", why, r.err)
	}
	// The separator's digests are the same for every PCR (Separator
	// computes the banks ukiboot can hash).
	sep := measure.Separator(r.active, 0)
	for _, a := range r.active.Unsupported() {
		sep.Digests[a] = opaqueDigest(a, sep.Data)
	}
	for _, pcr := range shellPCRs() {
		if err := t.Extend(pcr, sep.Digests); err != nil {
			r.logf("WARNING: TPM: cannot close PCR %d before %s: %v: secrets sealed to it could be unsealed from a shell", pcr, why, err)
			return fmt.Errorf("PCR %d could not be closed before %s: %w", pcr, why, err)
		}
	}
	r.closed = true
	r.logf("TPM: PCRs 7, 11, 12 and 13 closed (separator) before %s: secrets sealed to them no longer unseal until the machine resets", why)
	return nil
}

// opaqueDigest is a value of a's size derived from data, for a bank
// ukiboot cannot hash.
func opaqueDigest(a measure.Alg, data []byte) []byte {
	d := sha512.Sum512(append([]byte("ukiboot separator for an unsupported bank\x00"), data...))
	out := make([]byte, a.Size())
	copy(out, d[:])
	return out
}

// closeOnPanic, deferred at the top of a goroutine, closes the shell door
// before a panic ends ukiboot (u-root's init then starts a shell), and
// panics on.
func (r *tpmRun) closeOnPanic() {
	if v := recover(); v != nil {
		r.closeShellDoor("a panic ends ukiboot")
		panic(v)
	}
}

// watchSignals closes the shell door when a signal (notifyEndSignals) ends
// ukiboot in a boot mode, then lets the signal end it (die). notify is
// signal.Notify for those signals and returns what stops it. The result
// stops watching.
func (r *tpmRun) watchSignals(notify func(chan<- os.Signal) (stop func()), die func(os.Signal)) func() {
	c := make(chan os.Signal, 1)
	stopNotify := notify(c)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-c:
			r.closeShellDoor(fmt.Sprintf("signal %v ends ukiboot", sig))
			die(sig)
		case <-done:
		}
	}()
	return func() {
		stopNotify()
		close(done)
	}
}
