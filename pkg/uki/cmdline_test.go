package uki

import "testing"

// UCS2 follows systemd's xstrn8_to_16 and utf8_to_unichar: what survives
// the conversion to UTF-16 that systemd-boot and systemd-stub make of
// every command line.
func TestUCS2LikeXstrn8To16(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"ASCII unchanged", "root=/dev/vda quiet", "root=/dev/vda quiet"},
		{"BMP kept", "caf\u00e9 \u20ac \uffff", "caf\u00e9 \u20ac \uffff"},
		{"outside the BMP dropped", "a\U0001F600b\U0010FFFFc", "abc"},
		{"ends at a NUL byte", "ab\x00cd", "ab"},
		{"ends at an overlong NUL", "ab\xc0\x80cd", "ab"},
		{"overlong forms decode to their value", "\xc1\x81\xe0\x81\x82", "AB"},
		{"a stray continuation byte dropped alone", "a\x80b", "ab"},
		{"0xfe and 0xff dropped alone", "a\xfe\xffb", "ab"},
		{"a bad continuation drops the whole announced length", "\xc3Ab", "b"},
		{"a sequence cut short by the end", "ab\xe2\x82", "ab"},
		{"encoded surrogates dropped", "a\xed\xa0\x80b", "ab"},
		{"five- and six-byte forms dropped", "a\xf8\x88\x80\x80\x80b\xfc\x84\x80\x80\x80\x80c", "abc"},
		{"control characters kept (mangling is separate)", "a\tb\x7f", "a\tb\x7f"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := UCS2(c.in); got != c.want {
				t.Errorf("UCS2(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// MangleCmdline is mangle_stub_cmdline after xstrn8_to_16: control
// characters and DEL become spaces, outer blanks go, inner runs stay.
func TestMangleCmdlineLikeMangleStubCmdline(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"outer blanks and controls trimmed", "\t\n quiet \r\n", "quiet"},
		{"inner controls become spaces, runs kept", "a\tb\x7fc  d", "a b c  d"},
		{"astral characters dropped first", "a=\U0001F600 b", "a= b"},
		{"only whitespace", " \t\x01 ", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := MangleCmdline(c.in); got != c.want {
				t.Errorf("MangleCmdline(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
