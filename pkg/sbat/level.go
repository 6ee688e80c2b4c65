package sbat

import (
	"bytes"
	"fmt"
	"strings"
)

// Level is an SbatLevel: for each component it names, the lowest
// generation that may still run. A nil or empty Level checks nothing.
type Level struct {
	// Datestamp is the third field of the "sbat" entry (shim's are ten
	// digits, YYYYMMDDNN), empty when the level has none. A merged level
	// has the latest.
	Datestamp string

	min   map[string]uint16
	order []string // components in the order first seen
}

// levelFields is the most fields a level line has: the "sbat" entry
// carries a datestamp after its generation.
const levelFields = 3

// ParseLevel parses SbatLevel text in shim's format (the contents of the
// SbatLevel and SbatLevelRT variables, and of SbatLevel_Variable.txt's
// payloads):
//
//	sbat,1,2023012900
//	shim,2
//	grub,3
//	grub.debian,4
//
// The first entry must be "sbat,<generation>" with an optional datestamp
// of digits; every other line is "<component>,<generation>". The lexical
// rules are those of .sbat sections (see the package comment). Stricter
// than shim's parse_sbat_var_data, which ignores fields after the third
// and does not require the "sbat" entry first (shim only writes levels
// that have it). A component listed twice counts with its higher
// generation (shim uses the first; the strictest is the safe reading).
//
// Unlike a .sbat section, a level may end in NULs but hold nothing after
// them: a revocation list must never be cut short silently.
func ParseLevel(data []byte) (*Level, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 && len(bytes.Trim(data[i:], "\x00")) > 0 {
		return nil, syntaxf(1+bytes.Count(data[:i], []byte{'\n'}), "text after a NUL byte (at byte %d): a level must not hide entries behind one", i)
	}
	lines, err := splitLines(data)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, syntaxf(0, "no entries (an SbatLevel starts with %q)", SBATComponent+",1,<datestamp>")
	}
	l := &Level{min: map[string]uint16{}}
	for i, ln := range lines {
		f := ln.fields
		first := i == 0
		switch {
		case len(f) < 2:
			return nil, syntaxf(ln.num, "%q has no generation: want component,generation", f[0])
		case len(f) > levelFields || (len(f) == levelFields && !first):
			return nil, syntaxf(ln.num, "too many fields: want component,generation (and a datestamp only on the first line, %q)", SBATComponent)
		}
		for j, v := range f {
			if len(v) == 0 {
				return nil, syntaxf(ln.num, "field %d is empty", j+1)
			}
		}
		name, gen, err := componentGeneration(ln.num, f[0], f[1])
		if err != nil {
			return nil, err
		}
		if first {
			if name != SBATComponent {
				return nil, syntaxf(ln.num, "the first entry is %q, an SbatLevel starts with %q", name, SBATComponent+",1,<datestamp>")
			}
			if len(f) == levelFields {
				for _, c := range f[2] {
					if c < '0' || c > '9' {
						return nil, syntaxf(ln.num, "datestamp %q is not a number", f[2])
					}
				}
				l.Datestamp = string(f[2])
			}
		}
		l.raise(name, gen)
	}
	return l, nil
}

// raise makes gen the lowest generation of name allowed, unless a higher
// one already is.
func (l *Level) raise(name string, gen uint16) {
	old, ok := l.min[name]
	if !ok {
		l.order = append(l.order, name)
	}
	if !ok || gen > old {
		l.min[name] = gen
	}
}

// Merge combines levels (nil ones are skipped) into one that refuses
// whatever any of them refuses: for every component the highest generation
// any of them requires wins, and the latest datestamp is kept. Merging the
// ROM's level with -sbatlevel files and the firmware's SbatLevelRT can
// therefore only add revocations, never lift one.
func Merge(levels ...*Level) *Level {
	out := &Level{min: map[string]uint16{}}
	for _, l := range levels {
		if l == nil {
			continue
		}
		if laterDatestamp(l.Datestamp, out.Datestamp) {
			out.Datestamp = l.Datestamp
		}
		for _, name := range l.order {
			out.raise(name, l.min[name])
		}
	}
	return out
}

// laterDatestamp compares digit strings as numbers (a longer one is later),
// as shim compares SbatLevel datestamps.
func laterDatestamp(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}

// Len is the number of components the level names; 0 for nil.
func (l *Level) Len() int {
	if l == nil {
		return 0
	}
	return len(l.order)
}

// Required returns the lowest generation of component the level allows,
// and whether it names the component at all.
func (l *Level) Required(component string) (uint16, bool) {
	if l == nil {
		return 0, false
	}
	g, ok := l.min[component]
	return g, ok
}

// Components lists the components the level names, in the order first
// seen.
func (l *Level) Components() []string {
	if l == nil {
		return nil
	}
	return append([]string(nil), l.order...)
}

// String returns the level in shim's format, "sbat" first.
func (l *Level) String() string {
	var b strings.Builder
	if g, ok := l.Required(SBATComponent); ok {
		fmt.Fprintf(&b, "%s,%d", SBATComponent, g)
		if l.Datestamp != "" {
			b.WriteString("," + l.Datestamp)
		}
		b.WriteByte('\n')
	}
	for _, name := range l.Components() {
		if name != SBATComponent {
			fmt.Fprintf(&b, "%s,%d\n", name, l.min[name])
		}
	}
	return b.String()
}
