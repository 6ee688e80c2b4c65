package measure

import (
	"bytes"
	"fmt"
	"slices"
)

// Extend extends events into t, in order, every bank of each event at
// once. It stops at the first failure and returns how many events were
// extended.
func Extend(t TPM, events []Event) (int, error) {
	for i, e := range events {
		if err := t.Extend(e.PCR, e.Digests); err != nil {
			return i, fmt.Errorf("event %d (PCR %d, %s): %w", i+1, e.PCR, e.Description, err)
		}
	}
	return len(events), nil
}

// NotAtReset returns the PCRs among pcrs whose value in some bank of
// banks is not the reset value: measurements into them would not give
// the predicted values.
func NotAtReset(t TPM, banks Banks, pcrs []int) ([]int, error) {
	var out []int
	for _, pcr := range pcrs {
		for _, a := range banks {
			if !a.Supported() {
				continue
			}
			v, err := t.Read(pcr, a)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(v, Reset(a)) {
				out = append(out, pcr)
				break
			}
		}
	}
	return out, nil
}

// PCRs returns the PCRs events extend, in ascending order.
func PCRs(events []Event) []int {
	var out []int
	for _, e := range events {
		out = append(out, e.PCR)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
