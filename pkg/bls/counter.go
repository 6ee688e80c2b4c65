package bls

import (
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/conform"
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

// Next returns the file name after one more boot attempt, as UAPI.1
// names it since October 2025: LEFT goes down by one (not below zero),
// DONE up by one, and each keeps the number of digits it had, so that
// the rename is atomic on FAT: "+10" becomes "+09-1", and DONE stops at
// the largest value its width holds ("-9" stays "-9"). A missing "-DONE"
// counts as "-0". The suffix is written in lower case, as systemd-boot
// writes it (boot_entry_parse_tries). systemd-boot itself (up to v260)
// writes no padding ("+9-1"); ParseCounter reads both forms.
func (c Counter) Next() string {
	left := max(c.Left-1, 0)
	dw := max(c.doneWidth, 1)
	done := min(c.Done+1, widthMax(dw))
	return c.prefix + pad(left, c.leftWidth) + "-" + pad(done, dw) + strings.ToLower(c.suffix)
}

// widthMax is the largest number of width digits, at most maxTries.
func widthMax(width int) int {
	n := 1
	for range width {
		if n > maxTries/10 {
			return maxTries
		}
		n *= 10
	}
	return min(n-1, maxTries)
}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// CountsBoots reports whether booting e renames its file, as systemd-boot's
// boot_entry_bump_counters does for the kinds LOADER_TYPE_BUMP_COUNTERS
// names: type #1 linux and uki entries and type #2 entries with a counter.
// Type #1 efi entries are not counted since v258
// (conform.EFIEntriesNotCounted): only a loader that finds the booted file
// again could bless it. Their counter still shapes the entry, as
// boot_entry_parse_tries runs for every type #1 file: the id is the name
// without it, and TriesLeft orders the menu ("+0" sorts last).
func (e *Entry) CountsBoots() bool {
	if e.Counter == nil {
		return false
	}
	return !(e.Type == Type1 && e.EFI != "" && conform.Follows(conform.EFIEntriesNotCounted))
}
