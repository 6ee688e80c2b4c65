package bls

import "testing"

// TestCounterNextKeepsWidths checks the rename UAPI.1 asks for since
// October 2025: both counters keep their digit width (DONE is capped at the
// largest value its width holds) and the suffix is lower case, as
// systemd-boot's boot_entry_parse_tries writes it. Both the padded and
// systemd-boot's unpadded names parse.
func TestCounterNextKeepsWidths(t *testing.T) {
	cases := []struct {
		name, file, suffix, next string
		left, done               int
	}{
		{"LEFT keeps two digits", "a+10.efi", ".efi", "a+09-1.efi", 10, 0},
		{"DONE capped at one digit", "a+3-9.conf", ".conf", "a+2-9.conf", 3, 9},
		{"DONE capped at two digits", "a+5-99.conf", ".conf", "a+4-99.conf", 5, 99},
		{"DONE grows within its width", "a+5-08.conf", ".conf", "a+4-09.conf", 5, 8},
		{"padded name parses", "a+09-01.efi", ".efi", "a+08-02.efi", 9, 1},
		{"systemd-boot's unpadded name parses", "a+9-1.efi", ".efi", "a+8-2.efi", 9, 1},
		{"upper-case suffix written in lower case", "A+2.EFI", ".efi", "A+1-1.efi", 2, 0},
		{"mixed-case conf suffix", "b+1-0.Conf", ".conf", "b+0-1.conf", 1, 0},
		{"LEFT stays at zero", "c+0-3.conf", ".conf", "c+0-4.conf", 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, cnt, ok := ParseCounter(c.file, c.suffix)
			if !ok || cnt.Left != c.left || cnt.Done != c.done {
				t.Fatalf("ParseCounter(%q) = %+v, %v", c.file, cnt, ok)
			}
			if got := cnt.Next(); got != c.next {
				t.Errorf("Next() = %q, want %q", got, c.next)
			}
		})
	}
}
