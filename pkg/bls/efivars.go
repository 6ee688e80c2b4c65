package bls

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf16"
)

// LoaderVendorGUID is the vendor GUID of systemd-boot's variables.
const LoaderVendorGUID = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// Variables of the Boot Loader Interface that pick the default entry and
// the menu timeout, and that a boot writes (systemd-boot's
// config_load_defaults and save_selected_entry).
const (
	VarEntryOneShot         = "LoaderEntryOneShot"
	VarEntryDefault         = "LoaderEntryDefault"
	VarEntryLastBoot        = "LoaderEntryLastBooted"
	VarEntrySelected        = "LoaderEntrySelected"
	VarConfigTimeout        = "LoaderConfigTimeout"
	VarConfigTimeoutOneShot = "LoaderConfigTimeoutOneShot"
	DefaultEFIVarsDir       = "/sys/firmware/efi/efivars"
	attrNonVolatile         = 0x1
	attrBootServiceAccess   = 0x2
	attrRuntimeAccess       = 0x4
	attrsVolatile           = attrBootServiceAccess | attrRuntimeAccess
	attrsNonVolatile        = attrsVolatile | attrNonVolatile
)

// Vars reads the boot loader's EFI variables. Machines without UEFI
// (coreboot) have none; tests use a map.
type Vars interface {
	// Get returns the variable's string value; an error wrapping
	// fs.ErrNotExist when it is not set.
	Get(name string) (string, error)
}

// NoVars is the Vars of a machine without EFI variables.
type NoVars struct{}

func (NoVars) Get(name string) (string, error) {
	return "", fmt.Errorf("EFI variable %s: %w", name, fs.ErrNotExist)
}

// MapVars is a Vars held in memory.
type MapVars map[string]string

func (m MapVars) Get(name string) (string, error) {
	if v, ok := m[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("EFI variable %s: %w", name, fs.ErrNotExist)
}

// EFIVarFS reads systemd-boot's variables from a mounted efivarfs.
type EFIVarFS struct {
	Dir string // "" means /sys/firmware/efi/efivars
}

// Available reports whether the efivarfs directory exists.
func (e EFIVarFS) Available() bool {
	st, err := os.Stat(e.dir())
	return err == nil && st.IsDir()
}

func (e EFIVarFS) dir() string {
	if e.Dir == "" {
		return DefaultEFIVarsDir
	}
	return e.Dir
}

// Get reads NAME-<loader GUID>: a 4-byte attribute header, then UTF-16LE,
// normally NUL-terminated.
func (e EFIVarFS) Get(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(e.dir(), name+"-"+LoaderVendorGUID))
	if err != nil {
		return "", err
	}
	return DecodeVarString(name, b)
}

// DecodeVarString decodes an efivarfs file holding a UTF-16LE string.
func DecodeVarString(name string, b []byte) (string, error) {
	if len(b) < 4 || (len(b)-4)%2 != 0 {
		return "", fmt.Errorf("EFI variable %s: %d bytes is not an attribute header plus UTF-16", name, len(b))
	}
	u := make([]uint16, 0, (len(b)-4)/2)
	for i := 4; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u)), nil
}

// EncodeVarString is the inverse of DecodeVarString, with the attributes
// systemd-boot uses (non-volatile, boot service and runtime access).
func EncodeVarString(s string) []byte { return encodeVarString(s, attrsNonVolatile) }

func encodeVarString(s string, attrs uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, attrs)
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return binary.LittleEndian.AppendUint16(b, 0)
}

func getVar(v Vars, name string) (string, bool, error) {
	if v == nil {
		return "", false, nil
	}
	s, err := v.Get(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

// Set writes a string variable (non-volatile, boot and runtime access).
// efivarfs marks variable files immutable; the flag is cleared first.
func (e EFIVarFS) Set(name, value string) error { return e.set(name, value, attrsNonVolatile) }

// SetVolatile writes a string variable that lasts until the machine
// resets (boot and runtime access), as systemd-boot writes
// LoaderEntrySelected. Firmware may refuse to create one at runtime.
func (e EFIVarFS) SetVolatile(name, value string) error { return e.set(name, value, attrsVolatile) }

func (e EFIVarFS) set(name, value string, attrs uint32) error {
	p := filepath.Join(e.dir(), name+"-"+LoaderVendorGUID)
	if err := clearImmutable(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	// efivarfs wants the attributes and the data in one write.
	_, err = f.Write(encodeVarString(value, attrs))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Delete removes a variable; a missing one is not an error.
func (e EFIVarFS) Delete(name string) error {
	p := filepath.Join(e.dir(), name+"-"+LoaderVendorGUID)
	if err := clearImmutable(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.Remove(p)
}
