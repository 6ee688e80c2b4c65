package stub

import (
	"crypto"
	"fmt"
	"io"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// VerifyMode says what to do with signatures.
type VerifyMode int

const (
	// VerifyOff checks nothing.
	VerifyOff VerifyMode = iota
	// VerifyReport checks and reports, and boots whatever the verdict.
	VerifyReport
	// VerifyEnforce boots only trusted UKIs, uses only trusted addons,
	// refuses type #1 kernel entries and caller command lines for UKIs
	// with a .cmdline.
	VerifyEnforce
)

func (m VerifyMode) String() string {
	switch m {
	case VerifyReport:
		return "report"
	case VerifyEnforce:
		return "enforce"
	}
	return "off"
}

// peFile is a UKI or addon opened for its one read: the file, its size
// at the open, and its name as the user knows it.
type peFile struct {
	f    File
	size int64
	full string
}

// openRegular opens name, which must be a regular file no larger than
// the size limit.
func (b *builder) openRegular(name string) (*peFile, error) {
	f, err := b.files.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	full := b.files.Display(name)
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", full)
	}
	if err := CheckSize(full, st.Size(), b.pol.MaxSize); err != nil {
		f.Close()
		return nil, err
	}
	return &peFile{f: f, size: st.Size(), full: full}, nil
}

// stream returns the file's size bytes from its start, and what to call
// when done: one Stream of a Streamer (a UKI served over the network is
// downloaded once), else ReadAt calls.
func (pf *peFile) stream() (io.Reader, func(), error) {
	s, ok := pf.f.(Streamer)
	if !ok {
		return sectionFrom(pf.f, pf.size), func() {}, nil
	}
	rc, err := s.Stream()
	if err != nil {
		return nil, nil, err
	}
	return io.LimitReader(rc, pf.size), func() { rc.Close() }, nil
}

// headers are what preRead read from the file.
type headers struct {
	hdr    *uki.File
	layout *authenticode.Layout // nil when not verifying or when verdict is set
	algs   []crypto.Hash
	// verdict is Untrusted when the layout or the signature table cannot
	// be checked; nil otherwise.
	verdict *authenticode.Verdict
	// rec, when not nil, holds the bytes the pre-read gave, which the
	// private copy must hold too.
	rec *recorder
}

// preRead reads the headers and section table from the file (not from a
// private copy: they only plan the read) and, when verifying, the
// Authenticode layout and algorithms. A layout or signature table that
// cannot be checked gives an Untrusted verdict and no algorithms.
func (b *builder) preRead(r io.ReaderAt, size int64, full string, kind uki.Kind) (*headers, error) {
	hdr, err := uki.Read(r, size, full, kind)
	if err != nil {
		return nil, err
	}
	h := &headers{hdr: hdr}
	if b.pol.Verify.Mode == VerifyOff {
		return h, nil
	}
	layout, err := authenticode.LayoutOf(hdr)
	if err != nil {
		h.verdict = &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
		return h, nil
	}
	// The digests its signatures and the trust store need; an error is
	// the reason the image is Untrusted.
	algs, err := authenticode.NeededAlgorithms(hdr, b.pol.Verify.Store)
	if err != nil {
		h.verdict = &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
		return h, nil
	}
	h.layout, h.algs = layout, algs
	return h, nil
}

// openPE copies an addon into a sealed memfd in one read pass that
// also computes its Authenticode digests, parses the private copy and
// returns the verdict on it (nil when verification is off).
func (b *builder) openPE(name string, kind uki.Kind) (*Blob, *uki.File, *authenticode.Verdict, error) {
	pf, err := b.openRegular(name)
	if err != nil {
		return nil, nil, nil, err
	}
	defer pf.f.Close()
	return b.copyPE(name, pf, kind, nil)
}

// copyPE is openPE on an opened file: the whole-file private copy, then
// reads from it. It is the path for addons and for UKIs whose layout the
// one pass does not take (onepass.go). pre is what preRead read from pf
// already, or nil.
func (b *builder) copyPE(name string, pf *peFile, kind uki.Kind, pre *headers) (*Blob, *uki.File, *authenticode.Verdict, error) {
	full := pf.full
	var layout *authenticode.Layout
	var verdict *authenticode.Verdict
	var hashers []*authenticode.Hasher
	if b.pol.Verify.Mode != VerifyOff {
		// The headers, read first, say which bytes the digest covers.
		if pre == nil {
			var err error
			if pre, err = b.preRead(pf.f, pf.size, full, kind); err != nil {
				return nil, nil, nil, err
			}
		}
		layout, verdict = pre.layout, pre.verdict
		if verdict == nil {
			hashers = authHashers(layout, pre.algs)
		}
	}
	src, done, err := pf.stream()
	if err != nil {
		return nil, nil, nil, err
	}
	blob, err := snapshotUnhashed(name, src, pf.size, writers(hashers)...)
	done()
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := uki.Read(blob.File, blob.Size, full, kind)
	if err != nil {
		blob.Close()
		return nil, nil, nil, err
	}
	if pre != nil && pre.rec != nil && !pre.rec.sameAs(blob.File) {
		blob.Close()
		return nil, nil, nil, fmt.Errorf("%s changed while it was read", full)
	}
	if hashers != nil {
		if !sameLayout(u, layout) {
			blob.Close()
			return nil, nil, nil, fmt.Errorf("%s changed while it was read", full)
		}
		d, err := authDigests(hashers, blob.File) // ranges hashed again come from the private copy
		if err != nil {
			blob.Close()
			return nil, nil, nil, err
		}
		verdict = authenticode.Verify(u, d, b.pol.Verify.Store)
	}
	return blob, u, verdict, nil
}

// authHashers returns one Hasher per algorithm, so that each can run on
// its own core (fanout, in the one pass and in fill).
func authHashers(l *authenticode.Layout, algs []crypto.Hash) []*authenticode.Hasher {
	var hs []*authenticode.Hasher
	for _, a := range algs {
		hs = append(hs, authenticode.NewHasher(l, a))
	}
	return hs
}

// authDigests collects the hashers' digests; ranges that go back in the
// file are hashed from r, the private copy.
func authDigests(hs []*authenticode.Hasher, r io.ReaderAt) (map[crypto.Hash][]byte, error) {
	out := map[crypto.Hash][]byte{}
	for _, h := range hs {
		d, err := h.Digests(r)
		if err != nil {
			return nil, err
		}
		for a, v := range d {
			out[a] = v
		}
	}
	return out, nil
}
