package uki

import "strings"

// MangleCmdline turns a command line as found in a .cmdline section (or
// an addon's, or an SMBIOS string) into what systemd-stub uses: the text
// as UCS2 keeps it (see UCS2), every control character (0x00-0x1F, 0x7F)
// a space, leading and trailing blanks removed (systemd's
// mangle_stub_cmdline after xstrn8_to_16).
func MangleCmdline(s string) string {
	return MangleUCS2(UCS2(s))
}

// MangleUCS2 is mangle_stub_cmdline alone, for text that already went
// through UCS2 (the stub's arguments, which it checks before mangling).
func MangleUCS2(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c <= 0x1f || c == 0x7f {
			b[i] = ' '
		}
	}
	return strings.Trim(string(b), " ")
}

// UCS2 is what is left of the UTF-8 text s after systemd-boot or
// systemd-stub converted it to UTF-16 (systemd's xstrn8_to_16), written
// back as UTF-8, which is what the kernel receives and what the UTF-16
// measurement encodes. The conversion ends at the first NUL (a NUL byte,
// or a sequence that decodes to 0); characters outside the Basic
// Multilingual Plane and surrogate code points are dropped (UCS-2 has no
// surrogate pairs); an invalid lead byte is dropped alone, a sequence
// with a bad continuation byte, or cut short by the end, is dropped whole
// (as many bytes as its lead byte announces); overlong forms decode to
// their value.
func UCS2(s string) string {
	var out strings.Builder
	for len(s) > 0 && s[0] != 0 {
		r, n := decodeLikeSystemd(s)
		s = s[min(n, len(s)):]
		switch {
		case r == 0:
			return out.String()
		case r < 0 || r > 0xffff || (r >= 0xd800 && r <= 0xdfff):
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// decodeLikeSystemd decodes one character the way systemd's
// utf8_to_unichar does: lead bytes announce 1 to 6 bytes, continuation
// bytes are checked for their 10xxxxxx form only. It returns -1 for an
// invalid sequence and the number of bytes to skip.
func decodeLikeSystemd(s string) (rune, int) {
	c := s[0]
	var n int
	var r rune
	switch {
	case c < 0x80:
		return rune(c), 1
	case c&0xe0 == 0xc0:
		n, r = 2, rune(c&0x1f)
	case c&0xf0 == 0xe0:
		n, r = 3, rune(c&0x0f)
	case c&0xf8 == 0xf0:
		n, r = 4, rune(c&0x07)
	case c&0xfc == 0xf8:
		n, r = 5, rune(c&0x03)
	case c&0xfe == 0xfc:
		n, r = 6, rune(c&0x01)
	default:
		return -1, 1
	}
	if n > len(s) {
		return -1, n
	}
	for i := 1; i < n; i++ {
		if s[i]&0xc0 != 0x80 {
			return -1, n
		}
		r = r<<6 | rune(s[i]&0x3f)
	}
	return r, n
}
