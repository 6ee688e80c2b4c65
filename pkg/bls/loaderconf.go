package bls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TimeoutKind says how the menu behaves.
type TimeoutKind int

const (
	TimeoutUnset        TimeoutKind = iota // not configured
	TimeoutSeconds                         // count down Seconds, 0: boot at once
	TimeoutMenuForce                       // show the menu, wait forever
	TimeoutMenuHidden                      // boot at once unless a key is pressed
	TimeoutMenuDisabled                    // never show the menu
)

// Timeout is loader.conf's "timeout".
type Timeout struct {
	Kind    TimeoutKind
	Seconds int
}

func (t Timeout) String() string {
	switch t.Kind {
	case TimeoutSeconds:
		return strconv.Itoa(t.Seconds)
	case TimeoutMenuForce:
		return "menu-force"
	case TimeoutMenuHidden:
		return "menu-hidden"
	case TimeoutMenuDisabled:
		return "menu-disabled"
	}
	return ""
}

// timeoutMenuForce is the number systemd-boot reads as menu-force
// (TIMEOUT_MENU_FORCE, UINT32_MAX): bootctl set-timeout writes it instead
// of the word.
const timeoutMenuForce = 1<<32 - 1

// ParseTimeout parses loader.conf's timeout as systemd-boot's
// config_defaults_load_from_file does: menu-force, menu-hidden,
// menu-disabled, or seconds up to 4294967295, which is menu-force.
func ParseTimeout(v string) (Timeout, error) {
	if t, ok := timeoutWord(v); ok {
		return t, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || !allDigits(v) {
		return Timeout{}, fmt.Errorf("timeout %q is not a number of seconds, menu-force, menu-hidden or menu-disabled", v)
	}
	return timeoutSeconds(n), nil
}

// ParseTimeoutVar parses the LoaderConfigTimeout and
// LoaderConfigTimeoutOneShot variables as systemd-boot's
// efivar_get_timeout does: like loader.conf, but a larger number is
// menu-force instead of an error.
func ParseTimeoutVar(v string) (Timeout, error) {
	if t, ok := timeoutWord(v); ok {
		return t, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || !allDigits(v) {
		return Timeout{}, fmt.Errorf("%q is not a number of seconds, menu-force, menu-hidden or menu-disabled", v)
	}
	return timeoutSeconds(min(n, timeoutMenuForce)), nil
}

func timeoutWord(v string) (Timeout, bool) {
	switch v {
	case "menu-force":
		return Timeout{Kind: TimeoutMenuForce}, true
	case "menu-hidden":
		return Timeout{Kind: TimeoutMenuHidden}, true
	case "menu-disabled":
		return Timeout{Kind: TimeoutMenuDisabled}, true
	}
	return Timeout{}, false
}

func timeoutSeconds(n uint64) Timeout {
	if n == timeoutMenuForce {
		return Timeout{Kind: TimeoutMenuForce}
	}
	return Timeout{Kind: TimeoutSeconds, Seconds: int(n)}
}

// allDigits reports whether s is only ASCII digits (parse_number8 takes
// no sign).
func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// MenuTimeout is the menu timeout systemd-boot's config_load_defaults
// works out: loader.conf's, replaced by LoaderConfigTimeout (bootctl
// set-timeout), replaced by LoaderConfigTimeoutOneShot (systemctl reboot
// --boot-loader-menu=), which also forces the menu to show and is deleted
// once read.
type MenuTimeout struct {
	Timeout Timeout
	// Source names where Timeout came from: loader.conf's path, a
	// variable's name, or "" when nothing set it.
	Source string
	// OneShot says LoaderConfigTimeoutOneShot was read: the menu shows
	// even when the timeout hides it, and a boot deletes the variable.
	OneShot bool
}

// ReadMenuTimeout reads the timeout of loader.conf (conf may be nil) and
// of the variables. A variable that does not parse is ignored, as
// systemd-boot ignores it (and then does not delete it); the error says
// which.
func ReadMenuTimeout(conf *LoaderConf, v Vars) (MenuTimeout, error) {
	var mt MenuTimeout
	if conf != nil && conf.Timeout.Kind != TimeoutUnset {
		mt.Timeout, mt.Source = conf.Timeout, conf.Path
	}
	var errs []error
	for _, name := range []string{VarConfigTimeout, VarConfigTimeoutOneShot} {
		s, ok, err := getVar(v, name)
		if err != nil {
			errs = append(errs, err)
		}
		if !ok {
			continue
		}
		t, err := ParseTimeoutVar(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("EFI variable %s: %v, ignored", name, err))
			continue
		}
		mt.Timeout, mt.Source = t, name
		mt.OneShot = name == VarConfigTimeoutOneShot
	}
	return mt, errors.Join(errs...)
}

// LoaderConf is what ukiboot uses of /loader/loader.conf.
type LoaderConf struct {
	Path    string  // where it was read, "" if there was none
	Default string  // entry id glob, or "@saved"; "" if unset
	Timeout Timeout // TimeoutUnset if not set
	Editor  bool    // "editor", default yes
	// Other keys, kept for display.
	Other []KeyValue
	// Warnings about lines that were ignored.
	Warnings []string
	// Raw is the file as read: systemd-boot (v255 and later) measures it
	// whole into PCR 5 before parsing it (config_load_defaults).
	Raw []byte
}

// KeyValue is one "key value" line.
type KeyValue struct{ Key, Value string }

// ParseLoaderConf parses loader.conf: "key value" lines, '#' comments.
// Lines it cannot use are ignored with a warning, as systemd-boot does.
func ParseLoaderConf(name string, data []byte) *LoaderConf {
	c := &LoaderConf{Path: name, Editor: true, Raw: data}
	forEachKeyValue(data, func(line int, key, value string) {
		warn := func(format string, args ...any) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: ", name, line)+fmt.Sprintf(format, args...))
		}
		switch key {
		case "default":
			if strings.HasPrefix(value, "@") && lowerASCII(value) != savedValue {
				warn("unsupported special entry %q, ignored", value)
				return
			}
			c.Default = value
		case "timeout":
			t, err := ParseTimeout(value)
			if err != nil {
				warn("%v, ignored", err)
				return
			}
			c.Timeout = t
		case "editor":
			b, ok := parseBoolean(value)
			if !ok {
				warn("editor %q is not a boolean, ignored", value)
				return
			}
			c.Editor = b
		default:
			c.Other = append(c.Other, KeyValue{key, value})
		}
	}, func(line int, key string) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %q without a value, ignored", name, line, key))
	})
	return c
}

func parseBoolean(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// forEachKeyValue splits BLS-style text into "key value" pairs: each line
// is trimmed, empty and '#' lines are skipped, the key is the first word
// and the value the rest (inner blanks kept), without one pair of
// surrounding double quotes (as systemd-boot reads it; bootctl keeps
// them). A key without a value goes to empty.
func forEachKeyValue(data []byte, kv func(line int, key, value string), empty func(line int, key string)) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	sc.Split(splitLines)
	line := 0
	for sc.Scan() {
		line++
		l := strings.Trim(sc.Text(), " \t\r\n")
		if l == "" || l[0] == '#' {
			continue
		}
		k := strings.IndexAny(l, " \t")
		if k < 0 {
			if empty != nil {
				empty(line, l)
			}
			continue
		}
		v := strings.TrimLeft(l[k:], " \t")
		// systemd-boot strips one pair of surrounding double quotes.
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		kv(line, l[:k], v)
	}
}

// maxLine bounds one line, like systemd's LONG_LINE_MAX.
const maxLine = 1 << 20

// splitLines ends lines at "\n", "\r\n" or "\r".
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' {
			return i + 1, data[:i], nil
		}
		if c == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
