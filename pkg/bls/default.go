package bls

import "errors"

// LoaderVars is what systemd-boot's config_load_defaults reads of the
// variables that choose the default entry, each lower-cased (ASCII
// letters) as it keeps them. A boot changes them afterwards (the menu's d,
// save_selected_entry); Config.Vars keeps what was read.
type LoaderVars struct {
	// OneShot is LoaderEntryOneShot; OneShotSet says it exists, matched or
	// not: a boot deletes it then.
	OneShot    string
	OneShotSet bool
	// Default is LoaderEntryDefault; DefaultSet says it exists.
	Default    string
	DefaultSet bool
	// UseSaved is loader.conf's "default @saved", UseSavedVar a
	// LoaderEntryDefault of "@saved". LastBooted
	// (LoaderEntryLastBooted) is read only when one of them is set.
	UseSaved    bool
	UseSavedVar bool
	LastBooted  string
	// DefaultVarEntry is the index of the entry LoaderEntryDefault (or
	// its "@saved") chose, systemd-boot's idx_default_efivar; -1 when it
	// chose none. The menu's d sets or clears it (ToggleDefault).
	DefaultVarEntry int
	// Timeout is the menu timeout of loader.conf and the
	// LoaderConfigTimeout variables.
	Timeout MenuTimeout

	readDefaultVarEntry int // DefaultVarEntry as read
}

// ToggleDefault is the menu's d key, as systemd-boot's menu_run has it:
// entry i, whose id is id, becomes the one LoaderEntryDefault names, or,
// when it already is, LoaderEntryDefault is cleared (set says which). A
// "@saved" in LoaderEntryDefault no longer applies. Nothing is written
// here: a boot writes the change (DefaultChanged).
func (v *LoaderVars) ToggleDefault(i int, id string) (set bool) {
	set = v.DefaultVarEntry != i
	if set {
		v.Default, v.DefaultSet, v.DefaultVarEntry = id, true, i
	} else {
		v.Default, v.DefaultSet, v.DefaultVarEntry = "", false, -1
	}
	v.UseSavedVar = false
	return set
}

// DefaultChanged reports whether ToggleDefault left LoaderEntryDefault
// naming another entry than the one it chose when read: then it must be
// written (or deleted, when DefaultSet is false), as menu_run does when
// the menu is left.
func (v *LoaderVars) DefaultChanged() bool { return v.DefaultVarEntry != v.readDefaultVarEntry }

// savedValue is "@saved", the special default id.
const savedValue = "@saved"

// readLoaderVars reads the variables as config_load_defaults does.
func readLoaderVars(v Vars, loader *LoaderConf) (LoaderVars, error) {
	lv := LoaderVars{DefaultVarEntry: -1, readDefaultVarEntry: -1}
	var errs []error
	mt, err := ReadMenuTimeout(loader, v)
	lv.Timeout = mt
	if err != nil {
		errs = append(errs, err)
	}
	get := func(name string) (string, bool) {
		s, ok, err := getVar(v, name)
		if err != nil {
			errs = append(errs, err)
		}
		return lowerASCII(s), ok
	}
	lv.OneShot, lv.OneShotSet = get(VarEntryOneShot)
	lv.Default, lv.DefaultSet = get(VarEntryDefault)
	lv.UseSaved = loader != nil && lowerASCII(loader.Default) == savedValue
	lv.UseSavedVar = lv.Default == savedValue
	if lv.UseSaved || lv.UseSavedVar {
		lv.LastBooted, _ = get(VarEntryLastBoot)
	}
	return lv, errors.Join(errs...)
}

// pickDefault chooses the default entry as systemd-boot's
// config_select_default_entry does: LoaderEntryOneShot, then
// LoaderEntryDefault (or the last booted entry for its "@saved"), then
// loader.conf's default (or the last booted entry for "@saved"), then the
// first entry that is not bad. Only bootable entries are considered. The
// first bootable one of the first nURL entries (the -url entries) comes
// before all of these.
// LoaderEntrySysFail is not followed: v259's run() calls sysfail_process,
// which would enable it, only after config_select_default_entry, so it
// never chooses the default there (and LinuxBoot has no ESRT to check).
func (c *Config) pickDefault(v Vars, nURL int) error {
	lv, err := readLoaderVars(v, c.Loader)
	c.Vars = lv
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
	pick := func(i int, source string) bool {
		if i < 0 {
			return false
		}
		c.Default, c.DefaultSource = i, source
		return true
	}
	for i, e := range c.Entries[:nURL] {
		if e.Bootable() && pick(i, DefaultSourceURL) {
			return err
		}
	}
	if lv.OneShotSet && pick(find(lv.OneShot), VarEntryOneShot) {
		return err
	}
	varDefault, varSource := lv.Default, VarEntryDefault
	if lv.UseSavedVar {
		varDefault, varSource = lv.LastBooted, VarEntryLastBoot
	}
	if pick(find(varDefault), varSource) {
		c.Vars.DefaultVarEntry, c.Vars.readDefaultVarEntry = c.Default, c.Default
		return err
	}
	switch {
	case lv.UseSaved && !lv.UseSavedVar:
		if pick(find(lv.LastBooted), VarEntryLastBoot) {
			return err
		}
	case !lv.UseSaved && c.Loader != nil:
		if pick(find(c.Loader.Default), "loader.conf") {
			return err
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() && !e.Bad() && pick(i, "first entry") {
			return err
		}
	}
	for i, e := range c.Entries {
		if e.Bootable() && pick(i, "first entry (all are out of tries)") {
			return err
		}
	}
	return err
}
