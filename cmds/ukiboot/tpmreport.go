package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// tpmReport is what -dry-run says about the TPM beside the plan's
// events: the TPM found, the banks the events are computed for, the
// active banks a boot would leave at reset, and the values PCRs 7, 11,
// 12 and 13 would have after the boot, from their reset value. Predicted
// is nil when those values cannot be claimed: -measure off, or a TPM
// whose PCRs are not at their reset value (NotAtReset says which).
type tpmReport struct {
	TPM         string   `json:"tpm"`
	Measure     string   `json:"measure"`
	Banks       []string `json:"banks"`
	NotExtended []string `json:"not_extended"`
	NotAtReset  []int    `json:"not_at_reset"`
	// FromFirmware are PCRs (5, 7) the firmware measured into already.
	FromFirmware []int `json:"from_firmware,omitempty"`
	// Predictable says whether the TPM will hold the plan's predicted
	// values (predicted_pcrs, from reset) after the boot: the PCRs are at
	// their reset value and the boot extends them.
	Predictable bool     `json:"predictable"`
	Notes       []string `json:"notes"`
}

// tpmReport describes what a boot extending events would do to the TPM.
// It reads the TPM (banks, the values of the PCRs events extend) and
// changes nothing.
func (p *pipeline) tpmReport(events []measure.Event) tpmReport {
	r := p.o.tpm
	banks := r.planBanks()
	rep := tpmReport{Measure: r.mode, Banks: names(banks), NotExtended: []string{}, NotAtReset: []int{}, Notes: []string{}}
	if r.mode == measureOff {
		rep.TPM = "not used (-measure off)"
		rep.Notes = append(rep.Notes, "-measure off: nothing would be extended, so no PCR value is predicted")
		return rep
	}
	r.mu.Lock()
	t := r.device()
	var stale []int
	if t == nil {
		rep.TPM = "none: " + r.err.Error()
		rep.Notes = append(rep.Notes, fmt.Sprintf("no TPM: the events are computed for %s; a boot extends nothing", banks))
	} else {
		rep.TPM = "active banks " + r.active.String()
		unsupported, left := r.gaps(banks)
		rep.NotExtended = append(names(unsupported), names(left)...)
		var firmware []int
		var err error
		if stale, firmware, err = notAtReset(t, r.activeOf(banks), measure.PCRs(events)); err != nil {
			rep.Notes = append(rep.Notes, "cannot read the PCRs: "+err.Error())
			stale = measure.PCRs(events)
		}
		if len(firmware) > 0 {
			rep.FromFirmware = firmware
			rep.Notes = append(rep.Notes, fmt.Sprintf("PCR %s: the firmware measured into it already: after the boot it holds ukiboot's events extended from there, not the value predicted from reset", pcrList(firmware)))
		}
	}
	r.mu.Unlock()
	if len(rep.NotExtended) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("active bank(s) %v would NOT be extended and stay at their reset value", rep.NotExtended))
	}
	if len(stale) > 0 {
		rep.NotAtReset = stale
		rep.Notes = append(rep.Notes, fmt.Sprintf("PCR %s not at the reset value (an earlier boot attempt, or a running OS): the values after a boot cannot be predicted", pcrList(stale)))
		return rep
	}
	rep.Predictable = t != nil
	return rep
}

func names(b measure.Banks) []string {
	out := make([]string, 0, len(b))
	for _, a := range b {
		out = append(out, a.String())
	}
	return out
}

// writeText prints the report as -dry-run's text plan does: "tpm:" and
// "predicted:" lines.
func (rep tpmReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "tpm:      %s (-measure %s; events for %s)\n", rep.TPM, rep.Measure, strings.Join(rep.Banks, ","))
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "tpm note: %s\n", n)
	}
	if !rep.Predictable {
		fmt.Fprintf(w, "tpm note: after the boot the TPM will not hold the predicted PCR values above\n")
	}
}
