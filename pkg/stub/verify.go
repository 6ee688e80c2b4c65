package stub

import (
	"crypto"
	"fmt"
	"slices"

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

// openPE copies a UKI or addon into a sealed memfd in one read pass that
// also computes its Authenticode digests, parses the private copy and
// returns the verdict on it (nil when verification is off).
func (b *builder) openPE(name string, kind uki.Kind) (*Blob, *uki.File, *authenticode.Verdict, error) {
	f, err := b.files.Open(name)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	full := b.files.Display(name)
	if !st.Mode().IsRegular() {
		return nil, nil, nil, fmt.Errorf("%s: not a regular file", full)
	}
	size := st.Size()
	if err := CheckSize(full, size, b.pol.MaxSize); err != nil {
		return nil, nil, nil, err
	}
	var layout *authenticode.Layout
	var verdict *authenticode.Verdict
	var hasher *authenticode.Hasher
	if b.pol.Verify.Mode != VerifyOff {
		// The headers, read first, say which bytes the digest covers.
		hdr, err := uki.Read(f, size, full, kind)
		if err != nil {
			return nil, nil, nil, err
		}
		layout, err = authenticode.LayoutOf(hdr)
		if err != nil {
			verdict = &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
		} else {
			hasher = authenticode.NewHasher(layout, b.authAlgorithms(hdr)...)
		}
	}
	var blob *Blob
	if hasher != nil {
		blob, err = snapshotImage(name, sectionFrom(f, size), size, hasher)
	} else {
		blob, err = snapshotImage(name, sectionFrom(f, size), size)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := uki.Read(blob.File, blob.Size, full, kind)
	if err != nil {
		blob.Close()
		return nil, nil, nil, err
	}
	if hasher != nil {
		l2, err := authenticode.LayoutOf(u)
		if err != nil || !slices.Equal(l2.Ranges, layout.Ranges) || l2.CertStart != layout.CertStart {
			blob.Close()
			return nil, nil, nil, fmt.Errorf("%s changed while it was read", full)
		}
		d, err := hasher.Digests(blob.File) // ranges hashed again come from the private copy
		if err != nil {
			blob.Close()
			return nil, nil, nil, err
		}
		verdict = authenticode.Verify(u, d, b.pol.Verify.Store)
	}
	return blob, u, verdict, nil
}

// authAlgorithms are the Authenticode digests to compute for f, whose
// headers were read from the file: every algorithm Authenticode uses.
func (b *builder) authAlgorithms(f *uki.File) []crypto.Hash {
	return authenticode.Algorithms
}
