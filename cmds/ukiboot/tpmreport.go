package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
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
	// Predicted maps a PCR ("7") to its final value (hex) per bank.
	Predicted map[string]map[string]string `json:"predicted"`
	Notes     []string                     `json:"notes"`
}

// tpmReport describes what a boot with events would do to the TPM. It
// reads the TPM (banks, PCR values) and changes nothing.
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
		var err error
		if stale, err = measure.NotAtReset(t, r.activeOf(banks), shellPCRs()); err != nil {
			rep.Notes = append(rep.Notes, "cannot read the PCRs: "+err.Error())
			stale = shellPCRs()
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
	rep.Predicted = predictPCRs(banks, events)
	return rep
}

// predictPCRs replays events from the reset value and returns PCRs 7,
// 11, 12 and 13 in every bank ukiboot computes (reset values for a PCR
// no event extends).
func predictPCRs(banks measure.Banks, events []measure.Event) map[string]map[string]string {
	final := measure.Replay(banks, events)
	out := map[string]map[string]string{}
	for _, pcr := range shellPCRs() {
		vals := map[string]string{}
		for _, a := range banks {
			if !a.Supported() {
				continue
			}
			v, ok := final[pcr][a]
			if !ok {
				v = measure.Reset(a)
			}
			vals[a.String()] = hex.EncodeToString(v)
		}
		out[strconv.Itoa(pcr)] = vals
	}
	return out
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
	if rep.Predicted == nil {
		return
	}
	fmt.Fprintf(w, "predicted PCRs after the boot:\n")
	for _, pcr := range shellPCRs() {
		vals := rep.Predicted[strconv.Itoa(pcr)]
		for _, b := range rep.Banks {
			if v, ok := vals[b]; ok {
				fmt.Fprintf(w, "  PCR %-2d %-6s %s\n", pcr, b, v)
			}
		}
	}
}
