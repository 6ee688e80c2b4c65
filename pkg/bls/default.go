package bls

import (
	"errors"
	"strings"
)

// pickDefault chooses the default entry as systemd-boot does:
// LoaderEntryOneShot, then LoaderEntryDefault (or the last booted entry
// for "@saved"), then loader.conf's default, then the first entry that is
// not bad. Only bootable entries are considered.
func (c *Config) pickDefault(v Vars) error {
	find := func(pattern string) int {
		if pattern == "" {
			return -1
		}
		for i, e := range c.Entries {
			if e.Bootable() && MatchID(pattern, e.ID) {
				return i
			}
		}
		return -1
	}
	var errs []error
	get := func(name string) string {
		s, _, err := getVar(v, name)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	}
	lastBooted := func() string { return get(VarEntryLastBoot) }

	if s := get(VarEntryOneShot); s != "" {
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource, c.OneShot = i, VarEntryOneShot, s
			return errors.Join(errs...)
		}
	}
	if s := get(VarEntryDefault); s != "" {
		src := VarEntryDefault
		if strings.EqualFold(s, "@saved") {
			s, src = lastBooted(), VarEntryLastBoot
		}
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource = i, src
			return errors.Join(errs...)
		}
	}
	if s := c.Loader.Default; s != "" {
		src := "loader.conf"
		if strings.EqualFold(s, "@saved") {
			s, src = lastBooted(), VarEntryLastBoot
		}
		if i := find(s); i >= 0 {
			c.Default, c.DefaultSource = i, src
			return errors.Join(errs...)
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() && !e.Bad() {
			c.Default, c.DefaultSource = i, "first entry"
			return errors.Join(errs...)
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() {
			c.Default, c.DefaultSource = i, "first entry (all are out of tries)"
			break
		}
	}
	return errors.Join(errs...)
}
