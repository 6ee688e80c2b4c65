package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/sbat"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// policyFormat is the version of the layout of ukiboot's PCR 7 policy
// record (policyRecord). It is not ukiboot's version: a ROM update that
// keeps the trust policy keeps PCR 7, as a UEFI firmware update that
// keeps db and dbx does. It changes only when what the record says, or
// how, changes.
const policyFormat = 1

// trustPolicy is what ukiboot's verification policy measures into
// PCR 7, as UEFI firmware measures its Secure Boot state there.
type trustPolicy struct {
	mode stub.VerifyMode
	// lockdown is the running kernel's lockdown mode as platform.lockdown
	// reads it ("" when the LSM is absent).
	lockdown string
	store    *authenticode.Store
}

// policyEvents returns the PCR 7 events a boot extends before the UKI's
// own events, each EV_IPL (ukiboot is the IPL) with its description as
// event data:
//
//	"ukiboot policy"        the policy record (policyRecord)
//	"db"                    db as List.Canonical serializes it
//	"dbx"                   dbx, likewise
//	"SbatLevel"             canonicalSBAT of the SbatLevel in force
//	"db authority: SUBJECT" the DER of the db certificate that allowed
//	                        the booted UKI ("db authority: image digest":
//	                        the digest db holds), only when v is Trusted
//
// A list that cannot be serialized is measured as the error's text, so
// PCR 7 matches no value a secret was sealed to: measuring fails closed.
func (tp trustPolicy) policyEvents(banks measure.Banks, v *authenticode.Verdict) []measure.Event {
	ev := func(desc string, data []byte) measure.Event {
		return measure.Event{PCR: measure.PCRSecureBootPolicy, Type: measure.EvIPL, Description: desc,
			Digests: measure.Sum(banks, data), Size: int64(len(data))}
	}
	store := tp.store
	if store == nil {
		store = authenticode.NewStore()
	}
	out := []measure.Event{ev("ukiboot policy", tp.record())}
	for _, side := range []struct {
		name string
		l    *authenticode.List
	}{{"db", store.DB}, {"dbx", store.DBX}} {
		b, err := side.l.Canonical()
		if err != nil {
			out = append(out, ev(side.name+" (cannot be serialized)", []byte("ukiboot: "+side.name+": "+err.Error())))
			continue
		}
		out = append(out, ev(side.name, b))
	}
	out = append(out, ev("SbatLevel", canonicalSBAT(store.SBAT)))
	if v != nil && v.Status == authenticode.Trusted {
		switch {
		case v.AnchorCert != nil:
			out = append(out, ev("db authority: "+v.Anchor, v.AnchorCert))
		case v.AnchorDigest != nil:
			out = append(out, ev("db authority: image digest", v.AnchorDigest))
		default:
			// A Trusted verdict without its entry: measure that, never
			// nothing (nothing would look like an unverified boot).
			out = append(out, ev("db authority: unknown", []byte("ukiboot: trusted verdict without its db entry")))
		}
	}
	return out
}

// record is the policy record: lines of key=value in this order,
//
//	ukiboot-policy-format=1
//	verify=off|report|enforce
//	lockdown=none|integrity|confidentiality|absent|unknown
func (tp trustPolicy) record() []byte {
	lock := tp.lockdown
	if lock == "" {
		lock = "absent"
	}
	return fmt.Appendf(nil, "ukiboot-policy-format=%d\nverify=%s\nlockdown=%s\n", policyFormat, tp.mode, lock)
}

// canonicalSBAT is l in shim's format with the components sorted by name
// ("sbat" and its datestamp first), so that the order of the SbatLevel
// files does not change PCR 7; empty for no level.
func canonicalSBAT(l *sbat.Level) []byte {
	if l.Len() == 0 {
		return nil
	}
	var b strings.Builder
	if g, ok := l.Required(sbat.SBATComponent); ok {
		fmt.Fprintf(&b, "%s,%d", sbat.SBATComponent, g)
		if l.Datestamp != "" {
			b.WriteString("," + l.Datestamp)
		}
		b.WriteByte('\n')
	}
	names := l.Components()
	slices.Sort(names)
	for _, n := range names {
		if n != sbat.SBATComponent {
			g, _ := l.Required(n)
			fmt.Fprintf(&b, "%s,%d\n", n, g)
		}
	}
	return []byte(b.String())
}
