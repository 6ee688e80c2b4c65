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
	"slices"
	"sort"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Layout is the part of a PE file the Authenticode digest covers, in the
// order the digest takes it. It follows the steps of Microsoft's
// "Windows Authenticode Portable Executable Signature Format" (and EDK2's
// HashPeImage, which UEFI firmware runs, and sbsign):
//
//  1. the headers up to SizeOfHeaders, without the CheckSum field and the
//     certificate-table directory entry;
//  2. the sections that have raw data, in file-offset order,
//     SizeOfRawData bytes each;
//  3. when the file is larger than SUM_OF_BYTES_HASHED (SizeOfHeaders plus
//     every SizeOfRawData), the bytes from that offset up to the file
//     size less the certificate table's size.
//
// In an image without gaps between its sections SUM_OF_BYTES_HASHED is
// the end of the last section, and step 3 hashes what follows it. With
// gaps it lies before that end: step 3 hashes the last bytes of the
// sections again, and some gap bytes are hashed by no step. Gap bytes are
// never used (a section's data is its raw data, the headers end at
// SizeOfHeaders), so a signature still covers everything that is.
//
// Ranges holds the steps' ranges; all but the last are in file order, the
// last may start before the end of the one before.
type Layout struct {
	Ranges    [][2]int64
	CertStart int64 // certificate table, [CertStart, CertEnd); 0,0 if none
	CertEnd   int64
	Size      int64
}

// ErrLayout is returned for files whose layout leaves bytes that the
// program uses outside the signed ranges.
var ErrLayout = errors.New("layout not coverable by Authenticode")

// LayoutOf computes the signed ranges of f. Where the specification's
// digest would leave something that matters unsigned, ukiboot is stricter
// than EDK2 and refuses the file: SizeOfHeaders that does not cover the
// section table (the section headers would be unsigned), a section whose
// raw data starts inside SizeOfHeaders or another section, a certificate
// table that overlaps the headers or a section, and data after the
// certificate table (EDK2 subtracts only the table's size, so such data
// would stand in for part of the table in the digest).
func LayoutOf(f *uki.File) (*Layout, error) {
	h := f.Header
	hdrEnd := int64(h.SizeOfHeaders)
	tableEnd := h.SectionTableOffset + int64(h.NumberOfSections)*40
	if hdrEnd < tableEnd || hdrEnd > f.Size {
		return nil, fmt.Errorf("%s: %w: SizeOfHeaders %d does not cover the section table (ends at %d) or exceeds the file", f.Name, ErrLayout, hdrEnd, tableEnd)
	}
	l := &Layout{Size: f.Size}
	// Step 1. Without a certificate-table directory entry (fewer than five
	// data directories) only CheckSum is left out.
	if h.CertDirOffset >= 0 {
		l.Ranges = append(l.Ranges,
			[2]int64{0, h.CheckSumOffset},
			[2]int64{h.CheckSumOffset + 4, h.CertDirOffset},
			[2]int64{h.CertDirOffset + 8, hdrEnd})
	} else {
		l.Ranges = append(l.Ranges,
			[2]int64{0, h.CheckSumOffset},
			[2]int64{h.CheckSumOffset + 4, hdrEnd})
	}
	// Step 2.
	secs := make([]*uki.Section, 0, len(f.Sections))
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 {
			secs = append(secs, s)
		}
	}
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].PointerToRawData < secs[j].PointerToRawData })
	hashed := hdrEnd // SUM_OF_BYTES_HASHED
	end := hdrEnd    // end of the last section
	for _, s := range secs {
		start := int64(s.PointerToRawData)
		if start < end {
			return nil, fmt.Errorf("%s: %w: section %s starts inside the headers (SizeOfHeaders %d) or another section", f.Name, ErrLayout, s.Name, hdrEnd)
		}
		end = start + int64(s.SizeOfRawData)
		hashed += int64(s.SizeOfRawData)
		l.Ranges = append(l.Ranges, [2]int64{start, end})
	}
	// Step 3.
	ct := h.CertTable()
	if ct.Size > 0 {
		l.CertStart, l.CertEnd = int64(ct.VirtualAddress), int64(ct.VirtualAddress)+int64(ct.Size)
		if l.CertStart < end {
			return nil, fmt.Errorf("%s: %w: certificate table at %d overlaps the headers or the sections (which end at %d)", f.Name, ErrLayout, l.CertStart, end)
		}
		if l.CertEnd != f.Size {
			return nil, fmt.Errorf("%s: %w: %d bytes after the certificate table are not covered by any signature", f.Name, ErrLayout, f.Size-l.CertEnd)
		}
	}
	// The checks above put the table after the sections, so the extra
	// data never ends before SUM_OF_BYTES_HASHED (EDK2 fails the hash if
	// it did).
	if extraEnd := f.Size - int64(ct.Size); extraEnd > hashed {
		l.Ranges = append(l.Ranges, [2]int64{hashed, extraEnd})
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
// read once. The ranges that are in file order are hashed on the way; a
// range that goes back (step 3 of an image with gaps between sections) is
// hashed at the end from the copy, see Digests.
type Hasher struct {
	l      *Layout
	stream int // Ranges[:stream] are in file order and hashed by Write
	off    int64
	r      int // current range
	algs   []crypto.Hash
	hashes []hash.Hash // hashes[i] computes algs[i]
	sums   map[crypto.Hash][]byte
}

// Algorithms are the digests Authenticode signatures use.
var Algorithms = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// NewHasher hashes with every algorithm given, each once (default: all
// three; NeededAlgorithms says which are needed).
func NewHasher(l *Layout, algs ...crypto.Hash) *Hasher {
	if len(algs) == 0 {
		algs = Algorithms
	}
	h := &Hasher{l: l, stream: len(l.Ranges)}
	for _, a := range algs {
		if !slices.Contains(h.algs, a) {
			h.algs = append(h.algs, a)
			h.hashes = append(h.hashes, a.New())
		}
	}
	var end int64
	for i, rg := range l.Ranges {
		if rg[0] < end {
			h.stream = i
			break
		}
		end = rg[1]
	}
	return h
}

// Write takes the next bytes of the file.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && h.r < h.stream {
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
		h.write(p[:take])
		p, h.off = p[take:], h.off+take
	}
	h.off += int64(len(p))
	return n, nil
}

func (h *Hasher) write(p []byte) {
	for _, hh := range h.hashes {
		hh.Write(p)
	}
}

// Digests returns the digests; the whole file must have been written.
// The ranges that go back in the file are hashed from r, which must hold
// the bytes that were written: the private copy they were written to,
// never the file read again. r is not read (and may be nil) when the
// layout has no such range.
func (h *Hasher) Digests(r io.ReaderAt) (map[crypto.Hash][]byte, error) {
	if h.sums != nil {
		return h.sums, nil
	}
	if h.off != h.l.Size {
		return nil, fmt.Errorf("authenticode: hashed %d of %d bytes", h.off, h.l.Size)
	}
	for _, rg := range h.l.Ranges[h.stream:] {
		if r == nil {
			return nil, errors.New("authenticode: the digest goes back in the file but no copy to read it from was given")
		}
		n, err := io.Copy(writerFunc(h.write), io.NewSectionReader(r, rg[0], rg[1]-rg[0]))
		if err == nil && n != rg[1]-rg[0] {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, fmt.Errorf("authenticode: hashing bytes %d..%d again: %w", rg[0], rg[1], err)
		}
	}
	h.sums = map[crypto.Hash][]byte{}
	for i, hh := range h.hashes {
		h.sums[h.algs[i]] = hh.Sum(nil)
	}
	return h.sums, nil
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// Digests reads f from r and returns its Authenticode digests.
func Digests(f *uki.File, r io.ReaderAt, algs ...crypto.Hash) (map[crypto.Hash][]byte, error) {
	l, err := LayoutOf(f)
	if err != nil {
		return nil, err
	}
	return hashLayout(l, r, algs...)
}

// hashLayout returns the digests of the file that r holds and l lays out.
func hashLayout(l *Layout, r io.ReaderAt, algs ...crypto.Hash) (map[crypto.Hash][]byte, error) {
	h := NewHasher(l, algs...)
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, l.Size)); err != nil {
		return nil, err
	}
	return h.Digests(r)
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
