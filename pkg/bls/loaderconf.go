package bls

import (
	"bufio"
	"bytes"
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

// ParseTimeout parses a timeout value as loader.conf and the
// LoaderConfigTimeout variable write it.
func ParseTimeout(v string) (Timeout, error) {
	switch v {
	case "menu-force":
		return Timeout{Kind: TimeoutMenuForce}, nil
	case "menu-hidden":
		return Timeout{Kind: TimeoutMenuHidden}, nil
	case "menu-disabled":
		return Timeout{Kind: TimeoutMenuDisabled}, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return Timeout{}, fmt.Errorf("timeout %q is not a number of seconds, menu-force, menu-hidden or menu-disabled", v)
	}
	return Timeout{Kind: TimeoutSeconds, Seconds: int(n)}, nil
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
}

// KeyValue is one "key value" line.
type KeyValue struct{ Key, Value string }

// ParseLoaderConf parses loader.conf: "key value" lines, '#' comments.
// Lines it cannot use are ignored with a warning, as systemd-boot does.
func ParseLoaderConf(name string, data []byte) *LoaderConf {
	c := &LoaderConf{Path: name, Editor: true}
	forEachKeyValue(data, func(line int, key, value string) {
		warn := func(format string, args ...any) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: ", name, line)+fmt.Sprintf(format, args...))
		}
		switch key {
		case "default":
			if strings.HasPrefix(value, "@") && !strings.EqualFold(value, "@saved") {
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
