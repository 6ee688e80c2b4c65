package bls

import "strings"

// MatchID reports whether an entry id matches a loader.conf or EFI variable
// pattern: '*', '?', '[...]' (ranges, '!' or '^' to negate) and '\' to
// quote, compared case-insensitively, as systemd-boot's efi_fnmatch does.
func MatchID(pattern, id string) bool {
	return match(strings.ToLower(pattern), strings.ToLower(id))
}

func match(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if match(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		case '[':
			if s == "" {
				return false
			}
			ok, rest, valid := matchSet(p[1:], s[0])
			if !valid { // no closing ']': a literal '['
				if s[0] != '[' {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			}
			if !ok {
				return false
			}
			p, s = rest, s[1:]
		case '\\':
			if len(p) > 1 {
				p = p[1:]
			}
			fallthrough
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

// matchSet matches c against the set that starts after '['; it returns the
// pattern after ']'.
func matchSet(p string, c byte) (matched bool, rest string, valid bool) {
	negate := false
	if len(p) > 0 && (p[0] == '!' || p[0] == '^') {
		negate, p = true, p[1:]
	}
	first := true
	for len(p) > 0 {
		if p[0] == ']' && !first {
			return matched != negate, p[1:], true
		}
		first = false
		lo := p[0]
		if lo == '\\' && len(p) > 1 {
			p = p[1:]
			lo = p[0]
		}
		p = p[1:]
		hi := lo
		if len(p) > 1 && p[0] == '-' && p[1] != ']' {
			hi = p[1]
			p = p[2:]
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
	return false, "", false
}
