package menu

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Screen draws a Model on a terminal.
//
// With ANSI set, each Draw writes one whole frame in place with VT100
// sequences, which serial terminals, IPMI Serial-over-LAN consoles, tmux
// and the Linux console all understand: the cursor goes home, every line
// is written and cleared to its end, the rest of the screen is cleared,
// the highlighted entry is shown in reverse video, and the cursor is
// hidden except in the command-line editor. Since every frame is whole,
// a kernel message or log line written over the menu disappears at the
// next Draw.
//
// Without ANSI (TERM=dumb, or a console that shows escape sequences as
// text) no escape byte is ever written: a change prints the whole view
// again under the last one, and a change of the last line only (the
// countdown, the line being edited) rewrites that line after a carriage
// return, as a line printer can.
//
// The caller owns the terminal: it puts it in raw mode, decodes keys, and
// calls Draw once at the start and after every Key, Tick, Update, Reload
// or SetMessage (a Draw that changes nothing writes nothing in the plain
// mode and one frame in the ANSI mode, so drawing after every tick is
// fine). Before anything else writes to the terminal (booting, a shell,
// rebooting, exiting) it calls Close, and after that Draw again if the
// menu comes back. Rows and Cols are the terminal's size (TIOCGWINSZ);
// zero means the Model's Config.Height and Config.Width. Use
// TermANSI(os.Getenv("TERM")) to pick the mode, and offer a flag to force
// the plain one.
type Screen struct {
	W          io.Writer
	Rows, Cols int
	ANSI       bool

	prev  []string // the lines on the screen; nil before the first Draw
	drawn bool
}

// TermANSI reports whether a terminal of this TERM understands VT100
// sequences: every terminal does but the dumb ones ("", "dumb",
// "unknown").
func TermANSI(term string) bool {
	switch term {
	case "", "dumb", "unknown":
		return false
	}
	return true
}

// VT100 sequences the ANSI mode writes.
const (
	csi        = "\x1b["
	hideCursor = csi + "?25l"
	showCursor = csi + "?25h"
	resetAttrs = csi + "0m"
	reverseOn  = csi + "7m"
	reverseOff = csi + "0m" // a VT100 knows no ESC[27m
	clearLine  = csi + "K"  // from the cursor to the end of the line
	clearBelow = csi + "J"  // from the cursor to the end of the screen
	clearAll   = csi + "H" + csi + "2J"
)

// Draw shows the model's current state.
func (s *Screen) Draw(m *Model) error {
	rows, cols := s.Rows, s.Cols
	if rows <= 0 {
		rows = m.cfg.Height
	}
	if cols <= 0 {
		cols = m.cfg.Width
	}
	f := m.frame(rows, cols)
	if len(f.lines) > rows {
		f.lines = f.lines[:rows]
	}
	var b bytes.Buffer
	if s.ANSI {
		s.frameANSI(&b, f, rows, cols)
	} else {
		s.framePlain(&b, f)
	}
	s.drawn = true
	if b.Len() == 0 {
		return nil
	}
	_, err := s.W.Write(b.Bytes()) // one write: a frame is not torn by a log line
	return err
}

func (s *Screen) frameANSI(b *bytes.Buffer, f frame, rows, cols int) {
	b.WriteString(hideCursor + resetAttrs)
	for i, l := range f.lines {
		fmt.Fprintf(b, csi+"%d;1H", i+1)
		if l.reverse {
			// The bar spans the width, as in systemd-boot.
			b.WriteString(reverseOn + l.text + strings.Repeat(" ", max(cols-1-width(l.text), 0)) + reverseOff)
		} else {
			b.WriteString(l.text)
		}
		b.WriteString(clearLine)
	}
	n := len(f.lines)
	if n < rows {
		fmt.Fprintf(b, csi+"%d;1H"+clearBelow, n+1)
	}
	if f.cursor && n > 0 {
		fmt.Fprintf(b, csi+"%d;%dH"+showCursor, n, width(f.lines[n-1].text)+1)
		return
	}
	// Park the hidden cursor under the menu, where a stray message
	// does the least harm until the next frame.
	fmt.Fprintf(b, csi+"%d;1H", min(n+1, rows))
}

func (s *Screen) framePlain(b *bytes.Buffer, f frame) {
	texts := make([]string, len(f.lines))
	for i, l := range f.lines {
		texts[i] = l.text
	}
	prev := s.prev
	s.prev = texts
	n := len(texts)
	switch {
	case prev != nil && slices.Equal(texts, prev):
	case prev != nil && n > 0 && len(prev) == n && slices.Equal(texts[:n-1], prev[:n-1]):
		// Only the last line changed: rewrite it, blank what is left
		// of the old one, and put the cursor back at its end.
		pad := max(width(prev[n-1])-width(texts[n-1]), 0)
		b.WriteString("\r" + texts[n-1] + strings.Repeat(" ", pad) + strings.Repeat("\b", pad))
	default:
		b.WriteString("\n" + strings.Join(texts, "\n"))
	}
}

// Close leaves the terminal as the next program expects it, as
// systemd-boot does before it starts a kernel: in the ANSI mode the screen
// is cleared with the default colours, the cursor is home and visible; in
// the plain mode the last line is ended. The next Draw starts afresh.
func (s *Screen) Close() error {
	if !s.drawn {
		return nil
	}
	s.drawn, s.prev = false, nil
	out := "\n"
	if s.ANSI {
		out = resetAttrs + clearAll + showCursor
	}
	_, err := io.WriteString(s.W, out)
	return err
}
