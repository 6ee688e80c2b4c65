package bls

import "testing"

// TestMatchIDFollowsEFIFnmatch checks MatchID against the rules of
// systemd-boot v259's config_find_entry/efi_fnmatch (src/boot/efi-string.c):
// the pattern is lower-cased (ASCII only), the id is not; units are UTF-16.
func TestMatchIDFollowsEFIFnmatch(t *testing.T) {
	cases := []struct {
		name, pattern, id string
		want              bool
	}{
		{"pattern lower-cased", "FEDORA*", "fedora-6.8.conf", true},
		{"id compared as it is", "fedora*", "Fedora-6.8.conf", false},
		{"only ASCII letters lower-cased", "É.conf", "é.conf", false},
		{"non-ASCII compared exactly", "é.conf", "é.conf", true},
		{"? matches one UTF-16 unit", "?.conf", "é.conf", true},
		{"? matches one unit of a surrogate pair", "?.conf", "😀.conf", false},
		{"?? matches a surrogate pair", "??.conf", "😀.conf", true},
		{"set of a non-ASCII member", "[éa].conf", "é.conf", true},
		{"trailing escape matches nothing", `a\`, `a\`, false},
		{"escape quotes *", `a\*`, "a*", true},
		{"escape quotes only one unit", `a\*`, "ab", false},
		{"escaped range end", `[a-\z]`, "q", true},
		{"escaped ] as range end", `[a-\]]x`, "x", false},
		{"] first is a member", "[]]", "]", true},
		{"escaped ] is a member", `[\]]`, "]", true},
		{"- first is a member", "[-a]", "-", true},
		{"- last is a member", "[a-]", "-", true},
		{"ranges do not chain: - member", "[a-c-f]", "-", true},
		{"ranges do not chain: d not in", "[a-c-f]", "d", false},
		{"after a literal -, a new range", "[a-c-f-h]", "g", true},
		{"[ inside a set is a member", "[[]", "[", true},
		{"no negation with !", "[!a]", "!", true},
		{"no negation with ^", "[^a]", "b", false},
		{"unclosed set", "[abc", "a", false},
		{"empty pattern, empty id", "", "", true},
		{"stars collapse", "***", "", true},
		{"star in the middle", "*a*a*a*", "aaa", true},
		{"star needs each segment", "*a*a*a*", "aab", false},
		{"last segment anchored at the end", "*.conf", "a.conf.efi", false},
		{"first segment anchored at the start", "b*", "ab", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := MatchID(c.pattern, c.id); got != c.want {
				t.Errorf("MatchID(%q, %q) = %v, want %v", c.pattern, c.id, got, c.want)
			}
		})
	}
}
