package authenticode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ukiboot/ukiboot/internal/safefile"
)

// The firmware's db and dbx, and shim's MOK lists, read from efivarfs
// and from shim's MOK configuration table.

// DefaultMOKTableDir is where Linux shows shim's MOK configuration table
// (drivers/firmware/efi/mokvar-table.c): one file per variable, holding
// the variable's data without an attribute word.
const DefaultMOKTableDir = "/sys/firmware/efi/mok-variables"

// efiVariableNonVolatile is EFI_VARIABLE_NON_VOLATILE in the attribute
// word that starts every efivarfs file.
const efiVariableNonVolatile = 0x1

// addEFIVar adds the data of an efivarfs file (attributes, then
// signature lists) at path, if it exists. nonVolatileOK false refuses a
// variable with EFI_VARIABLE_NON_VOLATILE set. skip, when not nil, says
// from the attribute word why the variable is left out (with a note), or
// "". It reports whether the file existed.
func (s *Store) addEFIVar(path string, forbid, nonVolatileOK bool, why string, skip func(attrs uint32) string) (bool, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	b, err := ReadTrustFile(path)
	if err != nil {
		return true, err
	}
	if len(b) < 4 {
		return true, fmt.Errorf("%s: %d bytes, shorter than the 4-byte attribute word of an efivarfs file", path, len(b))
	}
	attrs := binary.LittleEndian.Uint32(b)
	if !nonVolatileOK && attrs&efiVariableNonVolatile != 0 {
		return true, fmt.Errorf("%s: non-volatile (attributes %#x): %s", path, attrs, why)
	}
	if skip != nil {
		if why := skip(attrs); why != "" {
			s.Notes = append(s.Notes, fmt.Sprintf("%s not used: %s", path, why))
			return true, nil
		}
	}
	l := s.side(forbid)
	tmp := l.empty()
	if err := tmp.addLists(b, 4); err != nil {
		return true, fmt.Errorf("%s: %w", path, err)
	}
	tmp.Sources = []string{path}
	l.merge(tmp)
	return true, nil
}

// AddEFIVars adds the firmware's db and dbx from an efivarfs directory,
// when present. It returns how many variables it read. shim's MOK lists
// are read by AddMOK.
func (s *Store) AddEFIVars(dir string) (int, error) {
	n := 0
	// dbx always: a revocation can only deny.
	found, err := s.addEFIVar(filepath.Join(dir, "dbx-"+ImageSecurityDatabaseGUID), true, true, "", nil)
	if err != nil {
		return n, err
	}
	if found {
		n++
	}
	dbPath := filepath.Join(dir, "db-"+ImageSecurityDatabaseGUID)
	if why := firmwareModeGuardsDB(dir); why != "" {
		if _, err := os.Lstat(dbPath); err == nil {
			s.Notes = append(s.Notes, fmt.Sprintf("%s not used: %s", dbPath, why))
		}
		return n, nil
	}
	if found, err = s.addEFIVar(dbPath, false, true, "", authenticatedDB); err != nil {
		return n, err
	}
	if found {
		n++
	}
	return n, nil
}

// efiVariableTimeBasedAuth is EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS.
const efiVariableTimeBasedAuth = 0x20

// firmwareModeGuardsDB says why the firmware's db in efivarfs cannot be
// trusted, or "". The firmware accepts writes to db without a KEK
// signature in Setup Mode and in Audit Mode, so there the previously
// booted OS may have written it.
func firmwareModeGuardsDB(dir string) string {
	mode := func(name string) (byte, bool) {
		b, err := safefile.Read(filepath.Join(dir, name+"-"+GlobalVariableGUID), 64)
		if err != nil || len(b) != 5 {
			return 0, false
		}
		return b[4], true
	}
	switch setup, ok := mode("SetupMode"); {
	case !ok:
		return "the firmware's SetupMode variable is missing or unreadable, so it is not known whether the firmware authenticates writes to db"
	case setup != 0:
		return "the firmware is in Setup Mode (SetupMode=1), where anyone may write db"
	}
	if audit, ok := mode("AuditMode"); ok && audit != 0 {
		return "the firmware is in Audit Mode (AuditMode=1), where anyone may write db"
	}
	return ""
}

// authenticatedDB refuses a db variable that is not a time-based
// authenticated variable: the firmware did not check who wrote it.
func authenticatedDB(attrs uint32) string {
	if attrs&efiVariableTimeBasedAuth == 0 {
		return fmt.Sprintf("attributes %#x lack time-based authenticated write access, so the firmware did not check who wrote it", attrs)
	}
	return ""
}

// MOK says where shim's Machine Owner Key lists are read from.
type MOK struct {
	// EFIVarsDir is efivarfs (/sys/firmware/efi/efivars).
	EFIVarsDir string
	// TableDir is shim's MOK configuration table as Linux shows it
	// (DefaultMOKTableDir); an entry there supersedes the efivarfs
	// variables of the same name, as in Linux's load_moklist_certs().
	TableDir string
	// Trust adds MokListRT to db. Without it only the revocations
	// (MokListXRT) are read.
	Trust bool
}

// AddMOK adds shim's MOK lists. MokListXRT (revocations) is always added
// to dbx, whatever the variables' attributes, since a revocation can only
// deny. MokListRT is added to db only when m.Trust is set, and its
// efivarfs variables must then be volatile, as shim creates them: a
// non-volatile MokListRT can be written by root of the previously booted
// OS. Each list is read from the MOK configuration table when the table
// has it, else from efivarfs (see mokFiles).
func (s *Store) AddMOK(m MOK) error {
	if err := s.addMOKList(m, "MokListXRT", true); err != nil {
		return err
	}
	if m.Trust {
		return s.addMOKList(m, "MokListRT", false)
	}
	if paths, _, err := mokFiles(m, "MokListRT"); err == nil && len(paths) > 0 {
		s.Notes = append(s.Notes, strings.Join(paths, ", ")+" not trusted: -trust-mok not given")
	}
	return nil
}

// mokFiles returns where the MOK list name (MokListRT, MokListXRT) is
// read from: the configuration table's entry when there is one (table is
// true); else the efivarfs variables name, name1, name2, ... in that
// order, since shim splits a list too big for one variable that way
// (mok.c, mirror_mok_db). Linux prefers the table the same way
// (load_uefi.c, load_moklist_certs); it reads only the first efivarfs
// variable, ukiboot reads them all.
func mokFiles(m MOK, name string) (paths []string, table bool, err error) {
	if m.TableDir != "" {
		p := filepath.Join(m.TableDir, name)
		if _, err := os.Lstat(p); err == nil {
			return []string{p}, true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, err
		}
	}
	if m.EFIVarsDir == "" {
		return nil, false, nil
	}
	des, err := os.ReadDir(m.EFIVarsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	suffix := "-" + ShimLockGUID
	var nums []string
	for _, de := range des {
		base, ok := strings.CutSuffix(de.Name(), suffix)
		if !ok {
			continue
		}
		if num, ok := strings.CutPrefix(base, name); ok && strings.Trim(num, "0123456789") == "" {
			nums = append(nums, num)
		}
	}
	// "", then numeric order.
	sort.Slice(nums, func(i, j int) bool {
		if len(nums[i]) != len(nums[j]) {
			return len(nums[i]) < len(nums[j])
		}
		return nums[i] < nums[j]
	})
	for _, num := range nums {
		paths = append(paths, filepath.Join(m.EFIVarsDir, name+num+suffix))
	}
	return paths, false, nil
}

func (s *Store) addMOKList(m MOK, name string, forbid bool) error {
	paths, table, err := mokFiles(m, name)
	if err != nil {
		return err
	}
	if !table {
		why := "shim creates " + name + " as a volatile variable, and a non-volatile one can be written by the previously booted OS: remove the variable, or boot without -trust-mok"
		for _, p := range paths {
			if _, err := s.addEFIVar(p, forbid, forbid, why, nil); err != nil {
				return err
			}
		}
		return nil
	}
	// A configuration table entry holds the data, no attribute word.
	p := paths[0]
	b, err := ReadTrustFile(p)
	if err != nil {
		return err
	}
	l := s.side(forbid)
	tmp := l.empty()
	if err := tmp.addLists(b, 0); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	tmp.Sources = []string{p}
	l.merge(tmp)
	return nil
}
