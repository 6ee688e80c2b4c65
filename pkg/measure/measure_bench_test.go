package measure_test

import (
	"testing"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// BenchmarkHasher is the one-pass digest of a large buffer (a UKI
// section) for each PCR bank alone and for the three banks of a
// measured boot together.
func BenchmarkHasher(b *testing.B) {
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, c := range []struct {
		name  string
		banks measure.Banks
	}{
		{"sha1", measure.Banks{measure.SHA1}},
		{"sha256", measure.Banks{measure.SHA256}},
		{"sha384", measure.Banks{measure.SHA384}},
		{"sha512", measure.Banks{measure.SHA512}},
		{"sha1+sha256+sha384", measure.Banks{measure.SHA1, measure.SHA256, measure.SHA384}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h := measure.NewHasher(c.banks)
				h.Write(data)
				if d := h.Sum(); len(d) != len(c.banks) {
					b.Fatalf("%d digests for %d banks", len(d), len(c.banks))
				}
			}
		})
	}
}
