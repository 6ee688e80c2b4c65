package uki

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package for bad input is a
// *FormatError that wraps one of these, so callers can test with errors.Is
// and still print a message that names the file and the reason.
var (
	ErrTruncated       = errors.New("file is truncated")
	ErrNotPE           = errors.New("not a PE/COFF image")
	ErrNotPE32Plus     = errors.New("not a PE32+ image")
	ErrMachine         = errors.New("unknown machine type")
	ErrSectionTable    = errors.New("bad section table")
	ErrSectionName     = errors.New("bad section name")
	ErrSectionBounds   = errors.New("section data outside the file")
	ErrSectionSize     = errors.New("section too large")
	ErrSectionOverlap  = errors.New("sections overlap")
	ErrSectionAddress  = errors.New("section loads over the PE headers")
	ErrDuplicate       = errors.New("duplicate section")
	ErrNoLinux         = errors.New("no .linux section")
	ErrAddonHasLinux   = errors.New("addon contains a .linux section")
	ErrAddonEmpty      = errors.New("addon has no .cmdline, .dtb, .dtbauto, .ucode or .initrd section")
	ErrProfile         = errors.New("bad profile")
	ErrNoProfile       = errors.New("no such profile")
	ErrCertTable       = errors.New("bad certificate table")
	ErrOSRelease       = errors.New("bad os-release data")
	ErrSectionTooLarge = errors.New("section too large to load into memory")
)

// FormatError describes why a file is not a valid UKI or addon.
type FormatError struct {
	File   string // file name as given to Open or Read; may be empty
	Err    error  // one of the sentinel errors above
	Detail string // what exactly is wrong, for a person
}

func (e *FormatError) Error() string {
	msg := e.Err.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.File != "" {
		return e.File + ": " + msg
	}
	return msg
}

func (e *FormatError) Unwrap() error { return e.Err }

func errorf(sentinel error, format string, args ...any) *FormatError {
	return &FormatError{Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// withFile names the file in err when err is a *FormatError without a name.
func withFile(err error, name string) error {
	if err == nil {
		return nil
	}
	var fe *FormatError
	if name != "" && errors.As(err, &fe) && fe.File == "" {
		c := *fe
		c.File = name
		return &c
	}
	if name != "" && fe == nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return err
}
