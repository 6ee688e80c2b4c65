package sbat

// A hostile SbatLevel, found by an adversarial review (it failed before
// its fix).

import "testing"

// An SbatLevel is a revocation list. Its text is cut at the first NUL, so
// entries after a NUL that is followed by more text (a level file
// concatenated from pieces, an editor or tool that wrote a NUL) are
// dropped silently: the level parses, and the revocations after the NUL
// are not applied. A trailing run of NULs (get_variable's terminator) is
// harmless; a NUL followed by anything else should be an error.
func TestHostileLevelTextAfterNUL(t *testing.T) {
	for _, text := range []string{
		"sbat,1,2024010900\nshim,4\n\x00grub,3\n",
		"sbat,1,2024010900\x00\ngrub,3\n",
		"sbat,1,2024010900\nshim,4\n\x00\x00\x00\x00grub,3\n",
	} {
		l, err := ParseLevel([]byte(text))
		if err != nil {
			continue // refused: fail-closed
		}
		if g, ok := l.Required("grub"); !ok || g != 3 {
			t.Errorf("level %q parsed without error but grub's revocation is gone (required %d, named %v); level read: %q", text, g, ok, l.String())
		}
	}
}
