package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ukiboot/ukiboot/internal/safefile"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/sbat"
)

// sbatLevelName is the variable in which shim shows the OS its SbatLevel:
// a volatile copy (boot-service and runtime access) of the boot-service
// only SbatLevel, in efivarfs and in shim's MOK configuration table.
const sbatLevelName = "SbatLevelRT"

// efivarfs attributes shim gives SbatLevelRT (mok.c, mirror_one_mok_variable):
// EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS.
const (
	efiVarNonVolatile   = 0x1
	sbatLevelRTAttrShim = 0x6
)

// sbatLevel reads the SbatLevel that .sbat sections of UKIs and addons are
// checked against (sbat.CheckImage), from every place that has one, in
// this order:
//
//  1. the ROM's trust store, p.trustDir/sbatlevel (/etc/ukiboot/sbatlevel);
//  2. each -sbatlevel FILE;
//  3. shim's SbatLevelRT in efivarfs (4 attribute bytes, then the text);
//  4. shim's SbatLevelRT in its MOK configuration table (the text).
//
// The levels are merged, the strictest generation of each component
// winning (sbat.Merge), so a source can add revocations but never lift
// one; that is also why an efivarfs SbatLevelRT that is not the volatile
// variable shim creates still counts (it can only refuse more). It returns
// the merged level (nil when no source has one: then nothing is checked,
// as shim checks nothing with an empty SbatLevel), the sources read, and an
// error naming the file (and the line) for a level that cannot be read or
// parsed: a revocation list that cannot be understood is never taken as
// absent. With -verify off nothing is read.
func (p platform) sbatLevel(o *options) (*sbat.Level, []string, error) {
	if o.verify == "off" {
		return nil, nil, nil
	}
	var levels []*sbat.Level
	var sources []string
	add := func(path, label string, attrs, must bool) error {
		if _, err := os.Lstat(path); !must && errors.Is(err, fs.ErrNotExist) {
			return nil // a dangling symbolic link is not absent: reading it fails
		}
		l, note, err := readSbatLevel(path, label, attrs)
		if err != nil {
			return err
		}
		levels = append(levels, l)
		sources = append(sources, label+note)
		return nil
	}
	rom := filepath.Join(p.trustDir, "sbatlevel")
	if err := add(rom, "trust store "+rom, false, false); err != nil {
		return nil, nil, err
	}
	for _, f := range o.sbatLevel {
		if err := add(f, "-sbatlevel "+f, false, true); err != nil {
			return nil, nil, err
		}
	}
	if p.efivarsDir != "" {
		v := filepath.Join(p.efivarsDir, sbatLevelName+"-"+authenticode.ShimLockGUID)
		if err := add(v, "shim's SbatLevelRT "+v, true, false); err != nil {
			return nil, nil, err
		}
	}
	if p.mokVarsDir != "" {
		v := filepath.Join(p.mokVarsDir, sbatLevelName)
		if err := add(v, "shim's SbatLevelRT "+v, false, false); err != nil {
			return nil, nil, err
		}
	}
	if len(levels) == 0 {
		return nil, nil, nil
	}
	return sbat.Merge(levels...), sources, nil
}

// readSbatLevel reads and parses one SbatLevel file; attrs says it is an
// efivarfs file, whose first 4 bytes are the variable's attributes. The
// note says what is unusual about it. Symbolic links are followed; the
// file must be a regular file (sysfs and efivarfs files are) of at most
// sbat.MaxSize bytes of text. Errors start with label, which names the
// file.
func readSbatLevel(path, label string, attrs bool) (*sbat.Level, string, error) {
	limit := int64(sbat.MaxSize)
	if attrs {
		limit += 4
	}
	b, err := safefile.Read(path, limit) // never blocks on a FIFO
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", label, err)
	}
	note := ""
	if attrs {
		if len(b) < 4 {
			return nil, "", fmt.Errorf("%s: %d bytes, shorter than the 4-byte attribute word of an efivarfs file", label, len(b))
		}
		if a := binary.LittleEndian.Uint32(b); a&efiVarNonVolatile != 0 {
			note = fmt.Sprintf(" (non-volatile, attributes %#x: not the variable shim creates; its revocations count all the same)", a)
		} else if a != sbatLevelRTAttrShim {
			note = fmt.Sprintf(" (attributes %#x)", a)
		}
		b = b[4:]
	}
	l, err := sbat.ParseLevel(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: not an SbatLevel (shim's format: \"sbat,1,<datestamp>\", then a \"component,generation\" line each): %w", label, err)
	}
	return l, note, nil
}
