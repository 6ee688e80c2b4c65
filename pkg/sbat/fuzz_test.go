package sbat

import (
	"testing"
)

// FuzzParseSBAT: arbitrary .sbat data never panics; what parses starts
// with the sbat entry, stays within the limits, and passes a level that
// requires exactly the lowest generation it carries of each component.
func FuzzParseSBAT(f *testing.F) {
	for _, s := range []string{debianStubSBAT, shimSBAT, ukifySBAT, ukifyAddonSBAT, debianGrubSBAT, rhelGrubSBAT,
		"\xef\xbb\xbf" + sbatLine + "\r\ngrub,1,a,b,c,d,e,f\r", sbatLine + "\n\x00grub,1", "test1,1,acme", ",,,,,,\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseSection(data)
		if err != nil {
			return
		}
		if len(entries) == 0 || len(entries) > MaxEntries || entries[0].Component != SBATComponent {
			t.Fatalf("accepted %+v", entries)
		}
		own := &Level{min: map[string]uint16{}}
		for _, e := range entries {
			if e.Component == "" || e.Vendor == "" || e.Package == "" || e.Version == "" || e.URL == "" {
				t.Fatalf("empty field accepted: %+v", e)
			}
			if g, ok := own.min[e.Component]; !ok || e.Generation < g {
				if !ok {
					own.order = append(own.order, e.Component)
				}
				own.min[e.Component] = e.Generation
			}
		}
		if err := Check(entries, own); err != nil {
			t.Fatalf("refused by its own lowest generations: %v", err)
		}
	})
}

// FuzzParseLevel: arbitrary level text never panics; what parses starts
// with "sbat" and prints in shim's format as text that parses back to the
// same level.
func FuzzParseLevel(f *testing.F) {
	for _, l := range shimLevels {
		f.Add([]byte(l.text))
	}
	for _, s := range []string{shimDevelLatest, "sbat,1\nshim,1\ngrub,1\ngrub.fedora,2\n", "sbat,1,2021030218\n\x00", "grub,3\n", "sbat,1,2,3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLevel(data)
		if err != nil {
			return
		}
		if l.Len() == 0 || l.Len() > MaxEntries || l.Components()[0] != SBATComponent {
			t.Fatalf("accepted %d components: %v", l.Len(), l.Components())
		}
		again, err := ParseLevel([]byte(l.String()))
		if err != nil {
			t.Fatalf("String() %q does not parse: %v", l, err)
		}
		if again.String() != l.String() || again.Datestamp != l.Datestamp {
			t.Fatalf("round trip %q became %q", l, again)
		}
	})
}
