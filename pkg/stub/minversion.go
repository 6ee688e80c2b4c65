package stub

import (
	"fmt"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// RollbackError is returned when a UKI is older than Policy.MinVersion,
// or has no version to compare.
type RollbackError struct {
	File    string // the UKI as messages name it (a network UKI: its redacted URL)
	Version string // "" when the UKI has none
	Min     string // Policy.MinVersion
}

// Error names the UKI, its version and the minimum, and what to do.
func (e *RollbackError) Error() string {
	if e.Version == "" {
		return fmt.Sprintf("%s has no .uname and no version in its .osrel, so the minimum version %s cannot be checked: refused, as it could be a rollback; serve a UKI with a version, or drop #min-version", e.File, e.Min)
	}
	return fmt.Sprintf("%s is version %s, older than the minimum %s: refused as a rollback; serve a newer UKI, or lower #min-version", e.File, e.Version, e.Min)
}

// checkMinVersion refuses u, the private copy, when its version for
// profile prof is older than pol.MinVersion (or it has none).
func (b *builder) checkMinVersion(u *uki.File, prof *uki.Profile) error {
	min := b.pol.MinVersion
	if min == "" {
		return nil
	}
	v, err := ukiVersion(u, prof)
	if err != nil {
		return err
	}
	if v == "" || bls.CompareVersions(v, min) < 0 {
		return &RollbackError{File: u.Name, Version: v, Min: min}
	}
	return nil
}

// ukiVersion is the .uname of profile prof, else the version of its
// .osrel; "" when it has neither.
func ukiVersion(u *uki.File, prof *uki.Profile) (string, error) {
	uname, err := u.Uname(prof)
	if err != nil || uname != "" {
		return uname, err
	}
	osr, err := u.OSRelease(prof)
	if err != nil || osr == nil {
		return "", err
	}
	return osr.First("IMAGE_VERSION", "VERSION", "VERSION_ID", "BUILD_ID"), nil
}
