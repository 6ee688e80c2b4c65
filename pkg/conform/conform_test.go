package conform

import "testing"

// Every rule has exactly one row, so Follows never meets an unknown rule.
func TestEveryRuleHasOneRow(t *testing.T) {
	seen := map[Rule]int{}
	for _, c := range Changes() {
		seen[c.Rule]++
		if c.Where == "" || c.Name == "" || c.Since < 250 {
			t.Errorf("row %+v: want a name, the systemd function it follows, and a release", c)
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
		{ConsoleAppend, 252, true}, // adopted early
	} {
		if got := FollowsAt(tc.rule, tc.release); got != tc.want {
			t.Errorf("FollowsAt(%d, %d) = %v, want %v", tc.rule, tc.release, got, tc.want)
		}
	}
}
