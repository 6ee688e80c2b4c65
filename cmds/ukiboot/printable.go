package main

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable is s with every character that is not text shown as '?':
// control characters (ESC, BEL, CR, C1 controls such as CSI) but newline
// and tab, and bytes that are not UTF-8. Titles, versions and errors come
// from the disks and the network, and the log, the plan and -list's text
// go to the console: a title must not move the cursor, clear the screen,
// set the terminal's title or rewrite a line (the menu sanitizes its own
// lines; partitionName does labels).
func printable(s string) string {
	clean := func(r rune) bool {
		return r != utf8.RuneError && (!unicode.IsControl(r) || r == '\n' || r == '\t')
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return !clean(r) }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if clean(r) {
			b.WriteString(s[i : i+n])
		} else {
			b.WriteByte('?')
		}
		i += n
	}
	return b.String()
}

// printableWriter writes what it is given through printable. Each Write
// is taken whole (fmt.Fprintf and tabwriter write whole strings).
type printableWriter struct{ w io.Writer }

func (p printableWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, printable(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
