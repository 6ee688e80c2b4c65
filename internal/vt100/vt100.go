// Package vt100 is a small model of a VT100 terminal for tests: bytes go
// in, the screen comes out as rows of cells. It understands what ukiboot's
// menu writes (CR, LF as a tty with the default ONLCR delivers it, that
// is CR LF, BS, ESC[H, ESC[row;colH, ESC[J, ESC[K, ESC[m with
// 0 and 7, ESC[?25l/h) and records every other sequence instead of
// guessing what it does, so a test can insist there are none.
package vt100

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Cell is one character position.
type Cell struct {
	R       rune // ' ' when blank
	Reverse bool
}

// Terminal is the screen and the cursor.
type Terminal struct {
	Rows, Cols int
	Cells      [][]Cell
	Row, Col   int // the cursor, from 0
	// CursorVisible follows ESC[?25l and ESC[?25h.
	CursorVisible bool
	// Scrolled counts lines that went off the top.
	Scrolled int
	// Unknown lists the sequences and control bytes not understood.
	Unknown []string

	reverse     bool
	wrapPending bool // a character was written in the last column
	pending     []byte
}

// New returns a blank rows x cols terminal with the cursor home.
func New(rows, cols int) *Terminal {
	t := &Terminal{Rows: rows, Cols: cols, CursorVisible: true}
	t.Cells = make([][]Cell, rows)
	for r := range t.Cells {
		t.Cells[r] = t.blankRow()
	}
	return t
}

func (t *Terminal) blankRow() []Cell {
	row := make([]Cell, t.Cols)
	for c := range row {
		row[c] = Cell{R: ' '}
	}
	return row
}

// Write interprets b; a sequence cut between two writes is completed by
// the next one. It never fails.
func (t *Terminal) Write(b []byte) (int, error) {
	t.pending = append(t.pending, b...)
	for len(t.pending) > 0 {
		n := t.step(t.pending)
		if n == 0 {
			break // an incomplete sequence or character
		}
		t.pending = t.pending[n:]
	}
	return len(b), nil
}

// step interprets the first byte, sequence or character of p and
// returns its length, or 0 when more bytes are needed.
func (t *Terminal) step(p []byte) int {
	switch c := p[0]; {
	case c == '\r':
		t.Col, t.wrapPending = 0, false
	case c == '\n': // ONLCR
		t.Col = 0
		t.lineFeed()
	case c == '\b':
		if t.Col > 0 && !t.wrapPending {
			t.Col--
		}
		t.wrapPending = false
	case c == 0x1b:
		return t.escape(p)
	case c < 0x20 || c == 0x7f:
		t.Unknown = append(t.Unknown, string(p[:1]))
	default:
		if !utf8.FullRune(p) {
			return 0
		}
		r, n := utf8.DecodeRune(p)
		t.put(r)
		return n
	}
	return 1
}

func (t *Terminal) lineFeed() {
	t.wrapPending = false
	if t.Row < t.Rows-1 {
		t.Row++
		return
	}
	copy(t.Cells, t.Cells[1:])
	t.Cells[t.Rows-1] = t.blankRow()
	t.Scrolled++
}

func (t *Terminal) put(r rune) {
	if t.wrapPending {
		t.Col = 0
		t.lineFeed()
	}
	t.Cells[t.Row][t.Col] = Cell{R: r, Reverse: t.reverse}
	if t.Col == t.Cols-1 {
		t.wrapPending = true
	} else {
		t.Col++
	}
}

// escape interprets an escape sequence at the start of p.
func (t *Terminal) escape(p []byte) int {
	if len(p) < 2 {
		return 0
	}
	if strings.IndexByte("()*+#%", p[1]) >= 0 { // character sets: ESC ( B
		if len(p) < 3 {
			return 0
		}
		t.Unknown = append(t.Unknown, string(p[:3]))
		return 3
	}
	if p[1] != '[' {
		t.Unknown = append(t.Unknown, string(p[:2]))
		return 2
	}
	i := 2
	for i < len(p) && (p[i] >= '0' && p[i] <= '9' || p[i] == ';' || p[i] == '?') {
		i++
	}
	if i == len(p) {
		return 0
	}
	seq, params, final := string(p[:i+1]), string(p[2:i]), p[i]
	if !t.csi(params, final) {
		t.Unknown = append(t.Unknown, seq)
	}
	return i + 1
}

// csi runs ESC [ params final and reports whether it knew it.
func (t *Terminal) csi(params string, final byte) bool {
	args := strings.Split(params, ";")
	arg := func(i, def int) int {
		if i >= len(args) || args[i] == "" {
			return def
		}
		n, err := strconv.Atoi(args[i])
		if err != nil {
			return def
		}
		return n
	}
	switch {
	case final == 'H' && !strings.HasPrefix(params, "?"):
		t.Row = min(max(arg(0, 1), 1), t.Rows) - 1
		t.Col = min(max(arg(1, 1), 1), t.Cols) - 1
		t.wrapPending = false
	case final == 'J' && (params == "" || params == "0"):
		t.clear(t.Row, t.Col, t.Rows-1, t.Cols)
	case final == 'J' && params == "2":
		t.clear(0, 0, t.Rows-1, t.Cols)
	case final == 'K' && (params == "" || params == "0"):
		t.clear(t.Row, t.Col, t.Row, t.Cols)
	case final == 'm':
		for i := range args {
			switch arg(i, 0) {
			case 0:
				t.reverse = false
			case 7:
				t.reverse = true
			default: // 27 and the rest are not VT100's
				return false
			}
		}
	case params == "?25" && (final == 'l' || final == 'h'):
		t.CursorVisible = final == 'h'
	default:
		return false
	}
	return true
}

// clear blanks from (r0, c0) to the end of row r1 before column c1, in
// reading order. Erased cells take no attribute.
func (t *Terminal) clear(r0, c0, r1, c1 int) {
	for r := r0; r <= r1; r++ {
		from, to := 0, t.Cols
		if r == r0 {
			from = c0
		}
		if r == r1 {
			to = c1
		}
		for c := from; c < to; c++ {
			t.Cells[r][c] = Cell{R: ' '}
		}
	}
}

// Lines returns the screen as text, trailing blanks removed.
func (t *Terminal) Lines() []string {
	out := make([]string, t.Rows)
	for r, row := range t.Cells {
		var b strings.Builder
		for _, c := range row {
			b.WriteRune(c.R)
		}
		out[r] = strings.TrimRight(b.String(), " ")
	}
	return out
}

// String is the screen, one line per row.
func (t *Terminal) String() string { return strings.Join(t.Lines(), "\n") }

// ReverseRows returns the rows holding a cell in reverse video.
func (t *Terminal) ReverseRows() []int {
	var out []int
	for r, row := range t.Cells {
		for _, c := range row {
			if c.Reverse {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
