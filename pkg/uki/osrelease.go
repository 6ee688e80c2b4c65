package uki

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Field is one KEY=VALUE assignment.
type Field struct {
	Key, Value string
}

// OSRelease is a parsed os-release(5) file (also used for .profile sections).
// When a key is assigned twice the last value wins, kept at the position of
// the first assignment.
type OSRelease struct {
	Fields []Field
	// index maps a key to its place in Fields, so that parsing many keys
	// (hostile .osrel text of an unverified UKI) stays linear.
	index map[string]int
}

// Get returns the value of key, or "".
func (o *OSRelease) Get(key string) string {
	v, _ := o.Lookup(key)
	return v
}

// Lookup returns the value of key and whether it was set.
func (o *OSRelease) Lookup(key string) (string, bool) {
	if o == nil {
		return "", false
	}
	for _, f := range o.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// First returns the value of the first of keys that is set and not empty.
func (o *OSRelease) First(keys ...string) string {
	for _, k := range keys {
		if v := o.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func (o *OSRelease) set(key, value string) {
	if o.index == nil {
		o.index = make(map[string]int, len(o.Fields))
		for i, f := range o.Fields {
			if _, dup := o.index[f.Key]; !dup {
				o.index[f.Key] = i
			}
		}
	}
	if i, ok := o.index[key]; ok {
		o.Fields[i].Value = value
		return
	}
	o.index[key] = len(o.Fields)
	o.Fields = append(o.Fields, Field{key, value})
}

// ParseOSRelease parses os-release data the way systemd's environment-file
// parser does (which is what bootctl uses for a UKI's .osrel):
//
//   - lines whose first non-blank character is '#' or ';' are comments;
//   - KEY=VALUE, blanks around KEY and before VALUE ignored;
//   - a value may mix unquoted, "double-quoted" and 'single-quoted' parts;
//   - unquoted: backslash escapes the next character, backslash-newline
//     continues the line, trailing blanks are dropped;
//   - double quotes: backslash escapes " \ ` $ and newline; before any other
//     character it is kept;
//   - single quotes: everything literal up to the next quote;
//   - a line without '=' is ignored; data ends at the first NUL.
//
// Invalid UTF-8 in a key or value is an error, as in systemd.
func ParseOSRelease(data []byte) (*OSRelease, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	const (
		preKey = iota
		inKey
		preValue
		inValue
		valueEscape
		singleQuote
		doubleQuote
		doubleQuoteEscape
		comment
		commentEscape
	)
	o := &OSRelease{}
	var key, value []byte
	keyWS, valueWS := -1, -1 // where trailing blanks start, -1 if none
	line := 1
	var perr error
	push := func() {
		k := key
		if keyWS >= 0 {
			k = k[:keyWS]
		}
		if perr == nil {
			switch {
			case !utf8.Valid(k):
				perr = errorf(ErrOSRelease, "line %d: invalid UTF-8 in key %q", line, strings.ToValidUTF8(string(k), "\uFFFD"))
			case !utf8.Valid(value):
				perr = errorf(ErrOSRelease, "line %d: invalid UTF-8 in the value of %s", line, strings.ToValidUTF8(string(k), "\uFFFD"))
			default:
				o.set(string(k), string(value))
			}
		}
		key, value = key[:0], nil
	}
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	isNL := func(c byte) bool { return c == '\n' || c == '\r' }
	addValue := func(c ...byte) { value = append(value, c...) }

	state := preKey
	for _, c := range data {
		switch state {
		case preKey:
			if c == '#' || c == ';' {
				state = comment
			} else if !isWS(c) {
				state = inKey
				keyWS = -1
				key = append(key[:0], c)
			}
		case inKey:
			switch {
			case isNL(c):
				state = preKey
				line++
				key = key[:0]
			case c == '=':
				state = preValue
				valueWS = -1
			default:
				if !isWS(c) {
					keyWS = -1
				} else if keyWS < 0 {
					keyWS = len(key)
				}
				key = append(key, c)
			}
		case preValue:
			switch {
			case isNL(c):
				state = preKey
				push()
				line++
			case c == '\'':
				state = singleQuote
			case c == '"':
				state = doubleQuote
			case c == '\\':
				state = valueEscape
			case !isWS(c):
				state = inValue
				addValue(c)
			}
		case inValue:
			switch {
			case isNL(c):
				state = preKey
				if valueWS >= 0 {
					value = value[:valueWS]
				}
				push()
				line++
			case c == '\\':
				state = valueEscape
				valueWS = -1
			default:
				if !isWS(c) {
					valueWS = -1
				} else if valueWS < 0 {
					valueWS = len(value)
				}
				addValue(c)
			}
		case valueEscape:
			state = inValue
			if !isNL(c) {
				addValue(c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				addValue(c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleQuoteEscape
			default:
				addValue(c)
			}
		case doubleQuoteEscape:
			state = doubleQuote
			switch {
			case c == '"' || c == '\\' || c == '`' || c == '$':
				addValue(c)
			case c != '\n':
				addValue('\\', c)
			}
		case comment:
			if c == '\\' {
				state = commentEscape
			} else if isNL(c) {
				state = preKey
				line++
			}
		case commentEscape:
			if isNL(c) {
				state = preKey
				line++
			} else {
				state = comment
			}
		}
	}
	switch state {
	case preValue, inValue, valueEscape, singleQuote, doubleQuote, doubleQuoteEscape:
		if state == inValue && valueWS >= 0 {
			value = value[:valueWS]
		}
		push()
	}
	if perr != nil {
		return nil, perr
	}
	return o, nil
}

// BootKeyValues splits text into key/value pairs the way systemd-boot
// reads its configuration, type #1 entries, .osrel and .profile
// (src/boot/efi-string.c: line_get_key_value): the text ends at the first
// NUL; lines end at '\n' or '\r'; blanks (space, tab) around a line are
// dropped; lines starting with '#' are comments; the key runs up to the
// first character of sep, and all sep characters after it are skipped; a
// line without a sep character is ignored; if the value starts with a
// double or single quote and the line ends with the same quote, that one
// pair is removed. There are no escapes. fn is called for each pair, in
// order, with the line number (from 1).
//
// One quirk is kept: systemd's quote test also matches an empty value
// (strchr8 finds the terminating NUL in its quote set), and the value
// then starts one byte past the line's end, so "KEY=" followed by more
// text takes the rest of the text, up to the NUL, as its value.
func BootKeyValues(data []byte, sep string, fn func(line int, key, value string)) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	// Keys and values are substrings of one copy of the text: the quirk
	// below gives a value that runs to the end of the text, and copying
	// it for every "KEY=" line would be quadratic.
	text := string(data)
	isBlank := func(c byte) bool { return c == ' ' || c == '\t' }
	line := 0
	for pos := 0; pos < len(data); {
		start := pos
		end := start
		for end < len(data) && data[end] != '\n' && data[end] != '\r' {
			end++
		}
		lineEnd := end
		pos = min(end+1, len(data))
		line++
		for start < end && isBlank(data[start]) {
			start++
		}
		for end > start && isBlank(data[end-1]) {
			end--
		}
		l := text[start:end]
		if l == "" || l[0] == '#' {
			continue
		}
		k := strings.IndexAny(l, sep)
		if k < 0 {
			continue
		}
		key, value := l[:k], strings.TrimLeft(l[k:], sep)
		switch {
		case value == "":
			// line_get_key_value's quote test matches the NUL it
			// wrote after the line, and the value starts past it: it
			// runs to the next NUL, which is the one written over the
			// line's end when trailing blanks were dropped, else the
			// end of the text (later lines are not cut yet).
			stop := len(data)
			if end < lineEnd {
				stop = lineEnd
			}
			if end+1 < stop {
				value = text[end+1 : stop]
			}
		case (value[0] == '"' || value[0] == '\'') && l[len(l)-1] == value[0]:
			value = value[1:]
			value = value[:max(len(value)-1, 0)]
		}
		fn(line, key, value)
	}
}

// ParseBootOSRelease reads os-release text (a UKI's .osrel or .profile)
// as systemd-boot does (boot.c: boot_entry_add_type2, with
// line_get_key_value and "=" as separator): no escapes, one pair of
// quotes removed, the last assignment of a key wins. Keys keep blanks
// before the '=' ("NAME =x" sets "NAME "), as in systemd-boot, so such a
// line names no field it looks for.
func ParseBootOSRelease(data []byte) *OSRelease {
	o := &OSRelease{}
	BootKeyValues(data, "=", func(_ int, key, value string) { o.set(key, value) })
	return o
}

// FirstSet returns the value of the first of keys that is set, even to
// the empty string, and whether any was; systemd-boot picks an entry's
// name, version and sort key this way
// (src/fundamental/bootspec-fundamental.c: bootspec_pick_name_version_sort_key).
func (o *OSRelease) FirstSet(keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := o.Lookup(k); ok {
			return v, true
		}
	}
	return "", false
}
