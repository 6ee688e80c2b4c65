// Package menu is ukiboot's boot menu as a state machine: keys go in,
// lines to show and an action come out. It knows nothing about terminals
// or booting, so it is tested without a TTY.
package menu

// Key is one decoded key press.
type Key struct {
	Kind KeyKind
	Rune byte // for KeyChar
}

// KeyKind names special keys.
type KeyKind int

const (
	KeyChar KeyKind = iota
	KeyUp
	KeyDown
	KeyHome
	KeyEnd
	KeyEnter
	KeyEscape
	KeyBackspace
)

// Decoder turns terminal input bytes into keys: plain characters, Enter
// (CR or LF), Backspace (DEL or BS), and the VT100/xterm sequences for the
// arrow, Home and End keys that serial terminals send.
type Decoder struct {
	pending []byte
}

// Feed adds input bytes and returns the complete keys in them. An
// incomplete escape sequence is kept for the next call; Flush ends it.
func (d *Decoder) Feed(b []byte) []Key {
	d.pending = append(d.pending, b...)
	var out []Key
	for len(d.pending) > 0 {
		k, n := decode(d.pending)
		if n == 0 {
			break // wait for more bytes
		}
		d.pending = d.pending[n:]
		if k != nil {
			out = append(out, *k)
		}
	}
	return out
}

// Flush returns what is left as keys (a lone ESC is the Escape key).
func (d *Decoder) Flush() []Key {
	var out []Key
	for _, c := range d.pending {
		if c == 0x1b {
			out = append(out, Key{Kind: KeyEscape})
		}
	}
	d.pending = nil
	return out
}

// decode returns the first key of b and how many bytes it used; n == 0
// means more bytes are needed.
func decode(b []byte) (*Key, int) {
	c := b[0]
	switch {
	case c == '\r' || c == '\n':
		// CR LF counts once.
		if c == '\r' && len(b) > 1 && b[1] == '\n' {
			return &Key{Kind: KeyEnter}, 2
		}
		return &Key{Kind: KeyEnter}, 1
	case c == 0x7f || c == 0x08:
		return &Key{Kind: KeyBackspace}, 1
	case c == 0x1b:
		if len(b) < 2 {
			return nil, 0
		}
		if b[1] != '[' && b[1] != 'O' {
			return &Key{Kind: KeyEscape}, 1
		}
		if len(b) < 3 {
			return nil, 0
		}
		switch b[2] {
		case 'A':
			return &Key{Kind: KeyUp}, 3
		case 'B':
			return &Key{Kind: KeyDown}, 3
		case 'H':
			return &Key{Kind: KeyHome}, 3
		case 'F':
			return &Key{Kind: KeyEnd}, 3
		case 'C', 'D':
			return nil, 3 // left/right: ignored
		}
		// ESC [ n ~ (1/7 Home, 4/8 End), ignore others.
		i := 2
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == len(b) {
			return nil, 0
		}
		if b[i] == '~' {
			switch string(b[2:i]) {
			case "1", "7":
				return &Key{Kind: KeyHome}, i + 1
			case "4", "8":
				return &Key{Kind: KeyEnd}, i + 1
			}
		}
		return nil, i + 1
	case c >= 0x20 && c < 0x7f:
		return &Key{Kind: KeyChar, Rune: c}, 1
	}
	return nil, 1 // other control characters
}
