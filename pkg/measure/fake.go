package measure

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// Fake is a TPM in memory for tests: it keeps PCR values and records every
// call in Calls ("banks", "read 11 sha256", "extend 11", "close").
type Fake struct {
	Active Banks
	PCRs   map[int]Digests
	Calls  []string
	// FailExtend, when set, is returned by the Extend of the PCR it
	// names (FailPCR; -1 for every PCR).
	FailExtend error
	FailPCR    int
}

// NewFake returns a Fake with banks active and every PCR at reset.
func NewFake(banks ...Alg) *Fake {
	return &Fake{Active: Banks(banks).normal(), PCRs: map[int]Digests{}, FailPCR: -1}
}

func (f *Fake) value(pcr int) Digests {
	v, ok := f.PCRs[pcr]
	if !ok {
		v = Digests{}
		for _, a := range f.Active {
			v[a] = Reset(a)
		}
		f.PCRs[pcr] = v
	}
	return v
}

func (f *Fake) Banks() (Banks, error) {
	f.Calls = append(f.Calls, "banks")
	return slices.Clone(f.Active), nil
}

func (f *Fake) Read(pcr int, a Alg) ([]byte, error) {
	f.Calls = append(f.Calls, fmt.Sprintf("read %d %s", pcr, a))
	v, ok := f.value(pcr)[a]
	if !ok {
		return nil, fmt.Errorf("fake TPM: bank %s is not active", a)
	}
	return slices.Clone(v), nil
}

func (f *Fake) Extend(pcr int, d Digests) error {
	f.Calls = append(f.Calls, fmt.Sprintf("extend %d", pcr))
	if f.FailExtend != nil && (f.FailPCR < 0 || f.FailPCR == pcr) {
		return f.FailExtend
	}
	v := f.value(pcr)
	for a := range v {
		dg, ok := d[a]
		if !ok {
			// A real TPM extends only the banks given; the others keep
			// their value. Record it, so tests see a missing bank.
			f.Calls = append(f.Calls, fmt.Sprintf("extend %d: no %s digest", pcr, a))
			continue
		}
		if len(dg) != a.Size() {
			return errors.New("fake TPM: wrong digest size")
		}
		h := a.New()
		if h == nil {
			// A bank ukiboot cannot compute (SM3-256): SHA-256, of
			// the same size, stands in, so tests see the PCR change.
			h = sha256.New()
		}
		h.Write(v[a])
		h.Write(dg)
		v[a] = h.Sum(nil)
	}
	return nil
}

func (f *Fake) Close() error {
	f.Calls = append(f.Calls, "close")
	return nil
}
