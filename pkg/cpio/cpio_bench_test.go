package cpio_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/cpio"
)

// countingDiscard counts what an archive writes and keeps none of it.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// benchArchive writes an archive of 1,000 files of 4 KiB in 10
// directories under .extra/credentials, as a large set of credentials
// would be, and returns its size.
func benchArchive(b *testing.B, names []string, content []byte) int64 {
	var out countingDiscard
	w := cpio.NewWriter(&out)
	if err := w.Prefix(".extra/credentials", 0o500); err != nil {
		b.Fatal(err)
	}
	for i, n := range names {
		if i < 10 {
			if err := w.Dir(fmt.Sprintf(".extra/credentials/d%d", i), 0o500); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.File(".extra/credentials/"+n, 0o400, int64(len(content)), bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return out.n
}

// BenchmarkWriter is the generation of a cpio archive of many files.
func BenchmarkWriter(b *testing.B) {
	content := bytes.Repeat([]byte{'c'}, 4<<10)
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("d%d/file-%04d.cred", i%10, i)
	}
	b.SetBytes(benchArchive(b, names, content)) // before b.Loop: not timed
	for b.Loop() {
		benchArchive(b, names, content)
	}
}
