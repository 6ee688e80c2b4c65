package menu

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Widths are counted in runes: one rune is one terminal column. (Wide
// East Asian characters take two, so such a title may be cut one column
// late; boot entry titles are almost always ASCII.)

// width is how many columns s takes.
func width(s string) int { return utf8.RuneCountInString(s) }

// sanitize makes text from boot entries safe to print: control
// characters (ESC above all, which a crafted title could use to rewrite
// the screen) become '?', tabs become spaces, and bytes that are not
// UTF-8 become U+FFFD. It keeps the width in runes.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r):
			b.WriteByte('?')
		default:
			b.WriteRune(r) // an invalid byte is written as U+FFFD
		}
	}
	return b.String()
}

// clip cuts s to w columns, ending it with "..." when it was cut.
func clip(s string, w int) string {
	r := []rune(s)
	if len(r) <= w {
		return s
	}
	if w < 4 {
		return string(r[:max(w, 0)])
	}
	return string(r[:w-3]) + "..."
}

// wrap breaks s into lines of at most w columns at spaces, splitting
// words longer than a line. The leading spaces of s start the first
// line; indent starts the others.
func wrap(s string, w int, indent string) []string {
	w = max(w, 1)
	lead := []rune(s[:len(s)-len(strings.TrimLeft(s, " "))])
	ind := []rune(indent)
	if len(lead) >= w {
		lead = nil
	}
	if len(ind) >= w {
		ind = nil
	}
	var out []string
	line, start := lead, len(lead) // start: how much of line is indentation
	flush := func() {
		out = append(out, string(line))
		line, start = append([]rune(nil), ind...), len(ind)
	}
	for _, word := range strings.Fields(s) {
		r := []rune(word)
		for len(r) > 0 {
			sep := 0
			if len(line) > start {
				sep = 1
			}
			switch room := w - len(line) - sep; {
			case len(r) <= room:
				if sep == 1 {
					line = append(line, ' ')
				}
				line, r = append(line, r...), nil
			case sep == 1 && len(r) <= w-len(ind), room <= 0:
				flush() // the word fits on a line of its own
			default: // split a word longer than a line
				if sep == 1 {
					line = append(line, ' ')
				}
				line, r = append(line, r[:room]...), r[room:]
				flush()
			}
		}
	}
	if len(line) > start || len(out) == 0 {
		out = append(out, string(line))
	}
	return out
}

// chop cuts s into lines of exactly w columns (the last one shorter), for
// text where every character counts, like the command line being edited.
func chop(s string, w int) []string {
	w = max(w, 1)
	r := []rune(s)
	var out []string
	for len(r) > w {
		out, r = append(out, string(r[:w])), r[w:]
	}
	return append(out, string(r))
}
