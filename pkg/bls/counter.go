package bls

import (
	"strconv"
	"strings"
)

// Counter is a boot-counting suffix "+LEFT[-DONE]" in an entry's file name.
type Counter struct {
	Left, Done int
	HasDone    bool // "-DONE" was written
	leftWidth  int
	doneWidth  int
	prefix     string // file name up to and including '+'
	suffix     string // ".conf" or ".efi", as written
}

// maxTries is the largest counter value systemd-boot accepts.
const maxTries = 1<<31 - 1

// ParseCounter finds a boot counter in file, whose name must end in suffix
// (compared case-insensitively). It returns the name with the counter
// removed, and ok=false when there is no valid counter. As in systemd-boot,
// the counter follows the last '+' and must run up to the suffix.
func ParseCounter(file, suffix string) (stripped string, c Counter, ok bool) {
	plus := strings.LastIndexByte(file, '+')
	if plus < 0 || plus+1 > len(file)-len(suffix) || !strings.EqualFold(file[len(file)-len(suffix):], suffix) {
		return file, Counter{}, false
	}
	rest := file[plus+1 : len(file)-len(suffix)]
	left, lw, rest, ok := parseTries(rest)
	if !ok {
		return file, Counter{}, false
	}
	c = Counter{Left: left, leftWidth: lw, prefix: file[:plus+1], suffix: file[len(file)-len(suffix):]}
	if strings.HasPrefix(rest, "-") {
		done, dw, r, ok := parseTries(rest[1:])
		if !ok {
			return file, Counter{}, false
		}
		c.Done, c.doneWidth, c.HasDone, rest = done, dw, true, r
	}
	if rest != "" {
		return file, Counter{}, false
	}
	return file[:plus] + c.suffix, c, true
}

func parseTries(s string) (n, width int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, 0, s, false
	}
	v, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil || v > maxTries {
		return 0, 0, s, false
	}
	return int(v), i, s[i:], true
}

// Next returns the file name after one more boot attempt: LEFT goes down
// by one (not below zero), DONE up by one; each keeps at least the number
// of digits it had, so "+10" becomes "+09-1".
func (c Counter) Next() string {
	left := max(c.Left-1, 0)
	done := min(c.Done+1, maxTries)
	dw := c.doneWidth
	if !c.HasDone {
		dw = 1
	}
	return c.prefix + pad(left, c.leftWidth) + "-" + pad(done, dw) + c.suffix
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}
