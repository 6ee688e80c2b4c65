package bls

import "unicode/utf16"

// MatchID reports whether an entry id matches a pattern from loader.conf's
// "default", an EFI variable (LoaderEntryOneShot, LoaderEntryDefault, ...)
// or -entry, as systemd-boot v259 matches them (config_find_entry with
// efi-string.c's efi_fnmatch):
//
//   - the pattern is lower-cased (ASCII letters only, strtolower16); the id
//     is compared as it is, so an id that keeps upper-case letters matches
//     no pattern that spells them;
//   - strings are compared as UTF-16 code units, so '?' and a set match one
//     unit;
//   - '*' matches any run, '?' one unit, '\' quotes the next unit (a
//     trailing '\' matches nothing);
//   - '[...]' is a set of units and ranges ("a-z"; '-' first or last is a
//     member; ranges do not chain: "[a-c-f]" is "[-abcf]"; '\' quotes a
//     member or a range end); there is no negation ('!' and '^' are
//     members), ']' right after '[' is a member, and a set without its ']'
//     matches nothing.
//
// It runs in time linear in len(pattern)*len(id), without backtracking.
func MatchID(pattern, id string) bool {
	p := utf16.Encode([]rune(lowerASCII(pattern)))
	h := utf16.Encode([]rune(id))
	// The pattern is simple patterns joined by '*': the first must match
	// at the start, each next one at its leftmost place after the
	// previous, and the last at the end.
	first := true
	for {
		match, star, pTail, hTail := matchSegment(p, h)
		if first {
			if !match {
				return false
			}
			if !star {
				return true
			}
			first = false
		}
		switch {
		case star:
			p, h = pTail, hTail
		case match || len(h) == 0:
			return match
		default:
			h = h[1:] // let the '*' before this segment take one more unit
		}
	}
}

// matchSegment matches the simple pattern at the start of p (up to a '*'
// or its end) against the start of h (efi_fnmatch_prefix). At a '*' it
// returns star with the pattern after the '*'s and h after what the
// segment matched; else match says whether the segment matched all of h.
func matchSegment(p, h []uint16) (match, star bool, pTail, hTail []uint16) {
	for {
		if len(p) == 0 {
			return len(h) == 0, false, nil, nil
		}
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			return true, true, p, h
		case '\\':
			if len(p) < 2 || len(h) == 0 || p[1] != h[0] {
				return false, false, nil, nil
			}
			p = p[2:]
		case '?':
			if len(h) == 0 {
				return false, false, nil, nil
			}
			p = p[1:]
		case '[':
			if len(h) == 0 {
				return false, false, nil, nil
			}
			rest, ok := matchSet(p[1:], h[0])
			if !ok {
				return false, false, nil, nil
			}
			p = rest
		default:
			if len(h) == 0 || p[0] != h[0] {
				return false, false, nil, nil
			}
			p = p[1:]
		}
		h = h[1:]
	}
}

// matchSet matches c against the set whose members start at p (after
// '['). It returns the pattern after the closing ']' and whether c is in
// the set; a set without ']' matches nothing.
func matchSet(p []uint16, c uint16) (rest []uint16, ok bool) {
	matched, canRange := false, true
	prev := uint16(0) // the member before a '-'
	for i := 0; ; i++ {
		if len(p) == 0 {
			return nil, false
		}
		u := p[0]
		switch {
		case u == '\\':
			if len(p) < 2 {
				return nil, false
			}
			u, p = p[1], p[2:]
			matched = matched || u == c
			prev, canRange = u, true
			continue
		case u == ']' && i > 0:
			return p[1:], matched
		case u == '-' && canRange && i > 0 && len(p) > 1 && p[1] != ']':
			p = p[1:]
			if p[0] == '\\' {
				p = p[1:]
			}
			if len(p) == 0 {
				return nil, false
			}
			matched = matched || prev <= c && c <= p[0]
			prev, canRange, p = p[0], false, p[1:]
			continue
		}
		matched = matched || u == c
		prev, canRange, p = u, true, p[1:]
	}
}

// lowerASCII lower-cases the ASCII letters of s, and nothing else, as
// systemd-boot's strtolower16 does.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
