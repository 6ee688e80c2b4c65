package vt100

import (
	"reflect"
	"testing"
)

func TestTerminal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		lines    []string
		reverse  []int
		scrolled int
		unknown  []string
	}{
		{"text, CR, LF and BS", "abc\rX\nd\bY", []string{"Xbc", "Y", ""}, nil, 0, nil},
		{"a line feed at the bottom scrolls", "1\n2\n3\n4", []string{"2", "3", "4"}, nil, 1, nil},
		{"the last column wraps on the next character", "abcdefgh", []string{"abcdef", "gh", ""}, nil, 0, nil},
		{"cursor position and clear to the end of the line", "abcdef\x1b[1;3H\x1b[KZ\x1b[3;6Hq\x1b[Hw", []string{"wbZ", "", "     q"}, nil, 0, nil},
		{"clear below", "aaa\nbbb\nccc\x1b[2;2H\x1b[J", []string{"aaa", "b", ""}, nil, 0, nil},
		{"clear all", "aaa\x1b[2J", []string{"", "", ""}, nil, 0, nil},
		{"reverse video on and off", "a\x1b[7mb\x1b[0mc\n\x1b[7md\x1b[0me", []string{"abc", "de", ""}, []int{0, 1}, 0, nil},
		{"ESC[27m is not VT100's", "\x1b[27mx", []string{"x", "", ""}, nil, 0, []string{"\x1b[27m"}},
		{"unknown sequences are recorded", "\x1b[31mx\x1b(B\x07\x1b[2K", []string{"x", "", ""}, nil, 0, []string{"\x1b[31m", "\x1b(B", "\a", "\x1b[2K"}},
		{"UTF-8", "é→", []string{"é→", "", ""}, nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := New(3, 6)
			for i := 0; i < len(tc.in); i++ { // byte by byte: sequences cut anywhere
				term.Write([]byte{tc.in[i]})
			}
			if got := term.Lines(); !reflect.DeepEqual(got, tc.lines) {
				t.Errorf("lines %q, want %q", got, tc.lines)
			}
			if got := term.ReverseRows(); !reflect.DeepEqual(got, tc.reverse) {
				t.Errorf("reverse rows %v, want %v", got, tc.reverse)
			}
			if term.Scrolled != tc.scrolled {
				t.Errorf("scrolled %d, want %d", term.Scrolled, tc.scrolled)
			}
			if !reflect.DeepEqual(term.Unknown, tc.unknown) {
				t.Errorf("unknown %q, want %q", term.Unknown, tc.unknown)
			}
		})
	}
	term := New(2, 4)
	term.Write([]byte("\x1b[?25l"))
	if term.CursorVisible {
		t.Error("ESC[?25l hides the cursor")
	}
	term.Write([]byte("\x1b[?25h"))
	if !term.CursorVisible {
		t.Error("ESC[?25h shows it")
	}
}
