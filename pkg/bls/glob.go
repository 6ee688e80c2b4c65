package bls

import "strings"

// MatchID reports whether an entry id matches a loader.conf or EFI variable
// pattern the way systemd-boot's efi_fnmatch does: '*' and '?', '[...]'
// sets with ranges (no negation: '!' and '^' are ordinary members; a set
// without ']' matches nothing) and '\' to quote, compared
// case-insensitively. It runs in time linear in len(pattern)*len(id).
func MatchID(pattern, id string) bool {
	p, s := strings.ToLower(pattern), strings.ToLower(id)
	pi, si := 0, 0
	starP, starS := -1, 0 // where to resume after the last '*'
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starS = pi, si
				pi++
				continue
			case '?':
				pi, si = pi+1, si+1
				continue
			case '[':
				ok, next, valid := matchSet(p[pi+1:], s[si])
				if !valid {
					return false
				}
				if ok {
					pi, si = len(p)-len(next), si+1
					continue
				}
			default:
				c, n := p[pi], 1
				if c == '\\' && pi+1 < len(p) {
					c, n = p[pi+1], 2
				}
				if c == s[si] {
					pi, si = pi+n, si+1
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' take one more character.
		starS++
		pi, si = starP+1, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchSet matches c against the set that starts after '['; it returns the
// pattern after ']', and valid=false when the set is not closed.
func matchSet(p string, c byte) (matched bool, rest string, valid bool) {
	first := true
	for len(p) > 0 {
		if p[0] == ']' && !first {
			return matched, p[1:], true
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
