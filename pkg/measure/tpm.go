package measure

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// TPM is what a boot does with a TPM 2.0; tests use a fake.
type TPM interface {
	// Banks returns the active (allocated) PCR banks, including ones
	// ukiboot cannot compute (Banks.Unsupported).
	Banks() (Banks, error)
	// Read returns the value of pcr in bank a.
	Read(pcr int, a Alg) ([]byte, error)
	// Extend extends pcr with one digest per bank (TPM2_PCR_Extend).
	Extend(pcr int, d Digests) error
	Close() error
}

// ErrNoTPM is returned by Open when the machine has no TPM 2.0 device.
var ErrNoTPM = errors.New("no TPM 2.0 (neither /dev/tpmrm0 nor /dev/tpm0)")

// devices are the TPM device nodes Open tries, in order: the kernel's
// resource manager first, then the raw device.
func devices() []string { return []string{"/dev/tpmrm0", "/dev/tpm0"} }

// Open opens the machine's TPM 2.0. It returns ErrNoTPM when no device
// node exists.
func Open() (TPM, error) {
	var errs []error
	for _, dev := range devices() {
		t, err := linuxtpm.Open(dev)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return &device{t: t, name: dev}, nil
	}
	if len(errs) == 0 {
		return nil, ErrNoTPM
	}
	return nil, errors.Join(errs...)
}

// device is a TPM 2.0 reached through go-tpm.
type device struct {
	t    transport.TPMCloser
	name string
}

func (d *device) String() string { return d.name }

func (d *device) Close() error { return d.t.Close() }

func (d *device) Banks() (Banks, error) {
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapPCRs, PropertyCount: 1}.Execute(d.t)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the PCR banks: %w", d.name, err)
	}
	sel, err := rsp.CapabilityData.Data.AssignedPCR()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the PCR banks: %w", d.name, err)
	}
	var b Banks
	for _, s := range sel.PCRSelections {
		for _, m := range s.PCRSelect {
			if m != 0 {
				b = append(b, Alg(s.Hash))
				break
			}
		}
	}
	return b.normal(), nil
}

func (d *device) Read(pcr int, a Alg) ([]byte, error) {
	rsp, err := tpm2.PCRRead{PCRSelectionIn: tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{
		{Hash: tpm2.TPMIAlgHash(a), PCRSelect: tpm2.PCClientCompatible.PCRs(uint(pcr))},
	}}}.Execute(d.t)
	if err != nil {
		return nil, fmt.Errorf("%s: reading PCR %d (%s): %w", d.name, pcr, a, err)
	}
	if len(rsp.PCRValues.Digests) != 1 {
		return nil, fmt.Errorf("%s: reading PCR %d (%s): the TPM returned %d values", d.name, pcr, a, len(rsp.PCRValues.Digests))
	}
	return rsp.PCRValues.Digests[0].Buffer, nil
}

func (d *device) Extend(pcr int, dg Digests) error {
	var v tpm2.TPMLDigestValues
	for _, a := range Banks(keys(dg)).normal() {
		v.Digests = append(v.Digests, tpm2.TPMTHA{HashAlg: tpm2.TPMIAlgHash(a), Digest: dg[a]})
	}
	_, err := tpm2.PCRExtend{
		PCRHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(pcr), Auth: tpm2.PasswordAuth(nil)},
		Digests:   v,
	}.Execute(d.t)
	if err != nil {
		return fmt.Errorf("%s: extending PCR %d: %w", d.name, pcr, err)
	}
	return nil
}

func keys(d Digests) []Alg {
	out := make([]Alg, 0, len(d))
	for a := range d {
		out = append(out, a)
	}
	return out
}
