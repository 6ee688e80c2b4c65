package bls

import "cmp"

// CompareVersions compares two version strings the way systemd's
// strverscmp_improved() does (UAPI.10, the Version Format Specification),
// returning -1, 0 or +1.
//
// Characters outside [A-Za-z0-9~^.-] are separators and are skipped. '~'
// sorts before everything, even the end of the string (pre-releases); then
// the end of the string; then '-', '^' and '.' prefixes, in that order;
// then digit runs, compared numerically (leading zeros dropped), which sort
// after letter runs; letter runs compare bytewise, the longer one newer.
func CompareVersions(a, b string) int {
	i, j := 0, 0
	at := func(s string, k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	for {
		for i < len(a) && !validVersionChar(a[i]) {
			i++
		}
		for j < len(b) && !validVersionChar(b[j]) {
			j++
		}
		ca, cb := at(a, i), at(b, j)

		if ca == '~' || cb == '~' {
			if r := cmpBool(ca != '~', cb != '~'); r != 0 {
				return r
			}
			i++
			j++
			ca, cb = at(a, i), at(b, j)
		}
		if ca == 0 || cb == 0 {
			return cmp.Compare(int(ca), int(cb))
		}
		for _, sep := range []byte{'-', '^', '.'} {
			if ca == sep || cb == sep {
				if r := cmpBool(ca != sep, cb != sep); r != 0 {
					return r
				}
				i++
				j++
				ca, cb = at(a, i), at(b, j)
			}
		}

		if isDigit(ca) || isDigit(cb) {
			ea, eb := i, j
			for ea < len(a) && isDigit(a[ea]) {
				ea++
			}
			for eb < len(b) && isDigit(b[eb]) {
				eb++
			}
			// A digit run beats no digit run.
			if r := cmpBool(ea != i, eb != j); r != 0 {
				return r
			}
			for i < ea && a[i] == '0' {
				i++
			}
			for j < eb && b[j] == '0' {
				j++
			}
			if r := cmp.Compare(ea-i, eb-j); r != 0 {
				return r
			}
			if r := cmp.Compare(a[i:ea], b[j:eb]); r != 0 {
				return r
			}
			i, j = ea, eb
		} else {
			ea, eb := i, j
			for ea < len(a) && isAlpha(a[ea]) {
				ea++
			}
			for eb < len(b) && isAlpha(b[eb]) {
				eb++
			}
			n := min(ea-i, eb-j)
			if r := cmp.Compare(a[i:i+n], b[j:j+n]); r != 0 {
				return r
			}
			if r := cmp.Compare(ea-i, eb-j); r != 0 {
				return r
			}
			i, j = ea, eb
		}
	}
}

func validVersionChar(c byte) bool {
	return isDigit(c) || isAlpha(c) || c == '~' || c == '-' || c == '^' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
