package conform

import "testing"

// Every rule has exactly one row, so Follows never meets an unknown rule.
func TestEveryRuleHasOneRow(t *testing.T) {
	seen := map[Rule]int{}
	for _, c := range Changes() {
		seen[c.Rule]++
		if c.Where == "" || c.Name == "" {
			t.Errorf("row %+v: want a name and the systemd function it follows", c)
		}
		if c.Since < 250 && !(c.Since == 0 && c.Early != "") {
			t.Errorf("row %+v: want a systemd release, or 0 with the reason ukiboot adopts it early", c)
		}
	}
	for r := Rule(0); r < numRules; r++ {
		if seen[r] != 1 {
			t.Errorf("rule %d has %d rows, want 1", r, seen[r])
		}
	}
}

func TestFollowsByRelease(t *testing.T) {
	for _, tc := range []struct {
		rule    Rule
		release int
		want    bool
	}{
		{EFIEntriesNotCounted, 257, false},
		{EFIEntriesNotCounted, 258, true},
		{SMBIOSBootTimeout, 259, false},
		{SMBIOSBootTimeout, 260, true},
		{ConsoleAppend, 252, true},    // adopted early
		{CounterWidthKept, 260, true}, // adopted early, in no release
		{SMBIOSBootCmdlineExtra, 255, false},
		{SMBIOSBootCmdlineExtra, 256, true},
	} {
		if got := FollowsAt(tc.rule, tc.release); got != tc.want {
			t.Errorf("FollowsAt(%d, %d) = %v, want %v", tc.rule, tc.release, got, tc.want)
		}
	}
}

// The table is ordered oldest release first (unreleased rules last), so a
// new release's rows go at the end of their release.
func TestChangesOrdered(t *testing.T) {
	last := 0
	for _, c := range Changes() {
		since := c.Since
		if since == 0 {
			since = 1 << 30
		}
		if since < last {
			t.Errorf("row %q (v%d) comes after a newer row", c.Name, c.Since)
		}
		last = since
	}
}
