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
	for i := range o.Fields {
		if o.Fields[i].Key == key {
			o.Fields[i].Value = value
			return
		}
	}
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
