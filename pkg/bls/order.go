package bls

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
)

// Compare orders two entries as systemd-boot's boot_entry_compare does:
// entries without tries left last; entries with a sort key first, ordered
// by sort key, machine id and version (newest first); then by id (newest
// first), profile, more tries left, fewer tries done.
func Compare(a, b *Entry) int {
	if r := cmpBool(a.Bad(), b.Bad()); r != 0 {
		return r
	}
	if r := cmpBool(!a.hasSortKey(), !b.hasSortKey()); r != 0 {
		return r
	}
	if a.hasSortKey() {
		if r := strings.Compare(a.SortKey, b.SortKey); r != 0 {
			return r
		}
		if r := strings.Compare(a.MachineID, b.MachineID); r != 0 {
			return r
		}
		if r := -CompareVersions(a.Version, b.Version); r != 0 {
			return r
		}
	}
	if r := -CompareVersions(a.idForSort(), b.idForSort()); r != 0 {
		return r
	}
	if a.IDWithoutProfile != "" && b.IDWithoutProfile != "" {
		if r := cmp.Compare(a.Profile, b.Profile); r != 0 {
			return r
		}
	}
	if a.TriesLeft < 0 || b.TriesLeft < 0 {
		return 0
	}
	if r := -cmp.Compare(a.TriesLeft, b.TriesLeft); r != 0 {
		return r
	}
	return cmp.Compare(max(a.TriesDone, 0), max(b.TriesDone, 0))
}

func (e *Entry) idForSort() string {
	if e.IDWithoutProfile != "" {
		return e.IDWithoutProfile
	}
	return e.ID
}

// Sort puts entries in menu order; entries that compare equal keep the
// order they were found in.
func Sort(entries []*Entry) {
	sort.SliceStable(entries, func(i, j int) bool { return Compare(entries[i], entries[j]) < 0 })
}

// MakeShowTitles sets ShowTitle so that no two entries look the same, as
// systemd-boot does: the title (or id), then the version, then the first
// 8 characters of the machine id, then the id are added to titles that
// are still not unique.
func MakeShowTitles(entries []*Entry) {
	unique := make([]bool, len(entries))
	check := func() bool {
		all := true
		for i := range entries {
			for k := i + 1; k < len(entries); k++ {
				if entries[i].ShowTitle == entries[k].ShowTitle {
					unique[i], unique[k], all = false, false, false
				}
			}
		}
		return all
	}
	for i, e := range entries {
		unique[i] = true
		e.ShowTitle = e.Title
		if e.ShowTitle == "" {
			e.ShowTitle = e.ID
		}
	}
	steps := []func(e *Entry) string{
		func(e *Entry) string { return e.Version },
		func(e *Entry) string {
			if len(e.MachineID) > 8 {
				return e.MachineID[:8]
			}
			return e.MachineID
		},
		func(e *Entry) string { return e.ID },
	}
	for _, add := range steps {
		if check() {
			return
		}
		for i, e := range entries {
			if unique[i] {
				continue
			}
			unique[i] = true
			if s := add(e); s != "" {
				e.ShowTitle = fmt.Sprintf("%s (%s)", e.ShowTitle, s)
			}
		}
	}
}
