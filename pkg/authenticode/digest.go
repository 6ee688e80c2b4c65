// Package authenticode verifies Authenticode signatures of PE images (UKIs
// and addons) over the whole file, against a UEFI-style trust store (db
// and dbx), the way UEFI firmware does for Secure Boot.
package authenticode

import (
	"bytes"
	"crypto"
	_ "crypto/sha256" // digest algorithms Authenticode uses
	_ "crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Layout is the part of a PE file the Authenticode digest covers: the
// headers without the CheckSum field and the certificate-table directory
// entry, the sections in file-offset order, then everything after the
// sections except the certificate table. Ranges are in file order.
type Layout struct {
	Ranges    [][2]int64
	CertStart int64 // certificate table, [CertStart, CertEnd); 0,0 if none
	CertEnd   int64
	Size      int64
}

// ErrLayout is returned for files whose layout leaves bytes that the
// program uses outside the signed ranges.
var ErrLayout = errors.New("layout not coverable by Authenticode")

// LayoutOf computes the signed ranges of f. It refuses files in which
// something that matters would not be covered: a section table beyond
// SizeOfHeaders, or data after the certificate table.
func LayoutOf(f *uki.File) (*Layout, error) {
	h := f.Header
	hdrEnd := int64(h.SizeOfHeaders)
	tableEnd := h.SectionTableOffset + int64(h.NumberOfSections)*40
	if hdrEnd < tableEnd || hdrEnd > f.Size {
		return nil, fmt.Errorf("%s: %w: SizeOfHeaders %d does not cover the section table (ends at %d) or exceeds the file", f.Name, ErrLayout, hdrEnd, tableEnd)
	}
	if h.CertDirOffset < 0 || h.CertDirOffset+8 > hdrEnd {
		return nil, fmt.Errorf("%s: %w: no certificate-table directory entry", f.Name, ErrLayout)
	}
	l := &Layout{Size: f.Size}
	l.Ranges = append(l.Ranges,
		[2]int64{0, h.CheckSumOffset},
		[2]int64{h.CheckSumOffset + 4, h.CertDirOffset},
		[2]int64{h.CertDirOffset + 8, hdrEnd})
	secs := make([]*uki.Section, 0, len(f.Sections))
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 {
			secs = append(secs, s)
		}
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i].PointerToRawData < secs[j].PointerToRawData })
	end := hdrEnd
	for _, s := range secs {
		start := int64(s.PointerToRawData)
		if start < end {
			return nil, fmt.Errorf("%s: %w: section %s starts inside the headers or another section", f.Name, ErrLayout, s.Name)
		}
		l.Ranges = append(l.Ranges, [2]int64{start, start + int64(s.SizeOfRawData)})
		end = start + int64(s.SizeOfRawData)
	}
	ct := h.CertTable()
	if ct.Size > 0 {
		l.CertStart, l.CertEnd = int64(ct.VirtualAddress), int64(ct.VirtualAddress)+int64(ct.Size)
		if l.CertStart < end {
			return nil, fmt.Errorf("%s: %w: certificate table at %d overlaps the sections", f.Name, ErrLayout, l.CertStart)
		}
		if l.CertEnd != f.Size {
			return nil, fmt.Errorf("%s: %w: %d bytes after the certificate table are not covered by any signature", f.Name, ErrLayout, f.Size-l.CertEnd)
		}
		if l.CertStart > end {
			l.Ranges = append(l.Ranges, [2]int64{end, l.CertStart})
		}
	} else if f.Size > end {
		l.Ranges = append(l.Ranges, [2]int64{end, f.Size})
	}
	// Drop empty ranges.
	out := l.Ranges[:0]
	for _, r := range l.Ranges {
		if r[1] > r[0] {
			out = append(out, r)
		}
	}
	l.Ranges = out
	return l, nil
}

// Hasher computes Authenticode digests while the whole file streams
// through it from offset 0 (as it is copied into memory), so the file is
// read once.
type Hasher struct {
	l      *Layout
	off    int64
	r      int // current range
	hashes map[crypto.Hash]hash.Hash
}

// Algorithms are the digests Authenticode signatures use.
var Algorithms = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// NewHasher hashes with every algorithm given (default: all three).
func NewHasher(l *Layout, algs ...crypto.Hash) *Hasher {
	if len(algs) == 0 {
		algs = Algorithms
	}
	h := &Hasher{l: l, hashes: map[crypto.Hash]hash.Hash{}}
	for _, a := range algs {
		h.hashes[a] = a.New()
	}
	return h
}

// Write takes the next bytes of the file.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && h.r < len(h.l.Ranges) {
		rg := h.l.Ranges[h.r]
		if h.off >= rg[1] {
			h.r++
			continue
		}
		if h.off < rg[0] { // skip bytes before the range
			skip := min(rg[0]-h.off, int64(len(p)))
			p, h.off = p[skip:], h.off+skip
			continue
		}
		take := min(rg[1]-h.off, int64(len(p)))
		for _, hh := range h.hashes {
			hh.Write(p[:take])
		}
		p, h.off = p[take:], h.off+take
	}
	h.off += int64(len(p))
	return n, nil
}

// Digests returns the digests; the whole file must have been written.
func (h *Hasher) Digests() (map[crypto.Hash][]byte, error) {
	if h.off != h.l.Size {
		return nil, fmt.Errorf("authenticode: hashed %d of %d bytes", h.off, h.l.Size)
	}
	out := map[crypto.Hash][]byte{}
	for a, hh := range h.hashes {
		out[a] = hh.Sum(nil)
	}
	return out, nil
}

// Digests reads f from r and returns its Authenticode digests.
func Digests(f *uki.File, r io.ReaderAt, algs ...crypto.Hash) (map[crypto.Hash][]byte, error) {
	l, err := LayoutOf(f)
	if err != nil {
		return nil, err
	}
	h := NewHasher(l, algs...)
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, f.Size)); err != nil {
		return nil, err
	}
	return h.Digests()
}

// ImageDigest returns the Authenticode digest of a PE image held in memory.
func ImageDigest(img []byte, alg crypto.Hash) ([]byte, error) {
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "", uki.KindAuto)
	if err != nil {
		return nil, err
	}
	d, err := Digests(f, bytes.NewReader(img), alg)
	if err != nil {
		return nil, err
	}
	return d[alg], nil
}
