package uki

import "strings"

// MangleCmdline turns a command line as found in a .cmdline section (or
// passed to the stub) into what systemd-stub uses: it ends at the first
// NUL, every ASCII control character (0x00-0x1F, 0x7F) becomes a space, and
// leading and trailing blanks are removed.
func MangleCmdline(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	b := []byte(s)
	for i, c := range b {
		if c <= 0x1f || c == 0x7f {
			b[i] = ' '
		}
	}
	return strings.Trim(string(b), " ")
}
