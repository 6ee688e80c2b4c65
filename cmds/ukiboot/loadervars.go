package main

import (
	"fmt"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// writableVars are EFI variables ukiboot may change.
type writableVars interface {
	Set(name, value string) error
	SetVolatile(name, value string) error
	Delete(name string) error
}

// varWrite is one change to a Boot Loader Interface variable.
type varWrite struct {
	name, value string
	del         bool // delete the variable
	volatile    bool // set it until the machine resets
}

func (w varWrite) dryRun() string {
	if w.del {
		return fmt.Sprintf("dry run: %s would be removed", w.name)
	}
	return fmt.Sprintf("dry run: %s would be set to %q", w.name, w.value)
}

// loaderVarWrites is what booting e changes in the variables (e nil: the
// menu reboots or powers off), in the order systemd-boot makes the
// changes:
//   - config_load_defaults deletes LoaderEntryOneShot whenever it was
//     read, matched or not, and LoaderConfigTimeoutOneShot when the menu
//     used it (not under -auto, which shows no menu, nor with -timeout,
//     which overrides the variables);
//   - menu_run writes (or deletes) LoaderEntryDefault when the menu's d
//     changed it;
//   - save_selected_entry sets LoaderEntrySelected (volatile) to the
//     booted id, and, unless the boot was the one-shot's, sets
//     LoaderEntryLastBooted to it when "@saved" is in use, else deletes it.
//
// Only machines with EFI variables have any.
func (p *pipeline) loaderVarWrites(e *bls.Entry) []varWrite {
	if _, ok := p.sys.vars.(writableVars); !ok {
		return nil
	}
	v := &p.config.Vars
	var ws []varWrite
	if v.Timeout.OneShot && !p.o.auto && !p.o.timeout.set {
		ws = append(ws, varWrite{name: bls.VarConfigTimeoutOneShot, del: true})
	}
	if v.OneShotSet {
		ws = append(ws, varWrite{name: bls.VarEntryOneShot, del: true})
	}
	if v.DefaultChanged() {
		ws = append(ws, varWrite{name: bls.VarEntryDefault, value: v.Default, del: !v.DefaultSet})
	}
	if e == nil {
		return ws
	}
	ws = append(ws, varWrite{name: bls.VarEntrySelected, value: e.ID, volatile: true})
	switch {
	case v.OneShotSet && v.OneShot == e.ID:
		// A one-shot boot saves nothing.
	case v.UseSavedVar || !v.DefaultSet && v.UseSaved:
		if v.LastBooted != e.ID {
			ws = append(ws, varWrite{name: bls.VarEntryLastBoot, value: e.ID})
		}
	default:
		if _, err := p.sys.vars.Get(bls.VarEntryLastBoot); err == nil {
			ws = append(ws, varWrite{name: bls.VarEntryLastBoot, del: true})
		}
	}
	return ws
}

// writeLoaderVars makes the changes; a failure is reported and does not
// stop the boot, as in systemd-boot.
func (p *pipeline) writeLoaderVars(ws []varWrite) {
	v, ok := p.sys.vars.(writableVars)
	if !ok {
		return
	}
	for _, w := range ws {
		var err error
		switch {
		case w.del:
			err = v.Delete(w.name)
		case w.volatile:
			err = v.SetVolatile(w.name, w.value)
		default:
			err = v.Set(w.name, w.value)
		}
		if err != nil {
			p.logf("cannot change EFI variable %s: %v", w.name, err)
		}
	}
}

// toggleDefault is the menu's d (systemd-boot's menu_run): the highlighted
// entry becomes LoaderEntryDefault, or, when it already is, the variable
// is cleared. The variable is written when the menu is left for a boot, a
// reboot or a power-off; -dry-run writes nothing. It returns what to show.
func (p *pipeline) toggleDefault(i int) string {
	if _, ok := p.sys.vars.(writableVars); !ok {
		return "no EFI variables on this machine: put 'default " + p.config.Entries[i].ID + "' in loader.conf"
	}
	id := p.config.Entries[i].ID
	set := p.config.Vars.ToggleDefault(i, id)
	switch {
	case p.o.dryRun && set:
		return "dry run: LoaderEntryDefault not changed (would be " + id + ")"
	case p.o.dryRun:
		return "dry run: LoaderEntryDefault not changed (would be removed)"
	case set:
		return "default entry: " + id + " (LoaderEntryDefault, written when the menu is left)"
	}
	return "default entry cleared (LoaderEntryDefault, removed when the menu is left)"
}

// pendingDefault is a change the menu's d made to LoaderEntryDefault that
// is not written yet; a rescan carries it over (carryDefault).
type pendingDefault struct {
	id      string
	set, ok bool
}

func (p *pipeline) pendingDefault() pendingDefault {
	v := &p.config.Vars
	if !v.DefaultChanged() {
		return pendingDefault{}
	}
	return pendingDefault{id: v.Default, set: v.DefaultSet, ok: true}
}

// carryDefault applies d, made before a rescan, to the entries read
// again, so that the rescan does not silently drop it. It returns what
// to show ("" for nothing).
func (p *pipeline) carryDefault(d pendingDefault) string {
	if !d.ok {
		return ""
	}
	v := &p.config.Vars
	if !d.set {
		if v.DefaultVarEntry >= 0 {
			v.ToggleDefault(v.DefaultVarEntry, "")
		}
		return "default entry cleared (LoaderEntryDefault, removed when the menu is left)"
	}
	for i, e := range p.config.Entries {
		if e.ID == d.id {
			if v.DefaultVarEntry != i {
				v.ToggleDefault(i, e.ID)
			}
			return "default entry: " + e.ID + " (LoaderEntryDefault, written when the menu is left)"
		}
	}
	return "the rescan found no entry " + d.id + ": LoaderEntryDefault stays as it was"
}
