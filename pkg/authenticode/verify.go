package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

// Status is the verdict on an image.
type Status string

const (
	Trusted   Status = "trusted"   // a signature chains to db, nothing in dbx
	Untrusted Status = "untrusted" // signed, but no signature is acceptable
	Unsigned  Status = "unsigned"  // no signature at all
)

// SignatureResult is what one WIN_CERTIFICATE entry came to.
type SignatureResult struct {
	Index  int
	Signer string // subject of the signing certificate
	Err    error  // nil if this signature makes the image trusted
}

// Verdict is the outcome of Verify.
type Verdict struct {
	Status Status
	// Signer is the subject of the certificate of the accepted signature.
	Signer string
	// Anchor is the db entry the accepted signature chains to.
	Anchor string
	// Reason explains a verdict that is not Trusted.
	Reason     string
	Signatures []SignatureResult
}

func (v *Verdict) String() string {
	switch v.Status {
	case Trusted:
		return fmt.Sprintf("trusted (signed by %s, anchored in %s)", v.Signer, v.Anchor)
	default:
		return fmt.Sprintf("%s: %s", v.Status, v.Reason)
	}
}

// Verify decides whether image f, whose Authenticode digests are given
// (from a Hasher fed the same bytes), is trusted by store. An image is
// trusted when its digest is not in dbx and either its digest is in db or
// at least one signature passes every check: the image digest it carries
// equals the computed one, its messageDigest matches its content, its
// signature verifies, and its signer chains to a db certificate with no
// certificate of the chain in dbx. Validity dates are ignored, as UEFI
// firmware ignores them.
func Verify(f *uki.File, digests map[crypto.Hash][]byte, store *Store) *Verdict {
	v := &Verdict{}
	for _, h := range hashKeys(digests) {
		if store.DBX.ImageHashes[h] {
			v.Status, v.Reason = Untrusted, "the image's digest is in dbx"
			return v
		}
	}
	certs, err := f.Certificates()
	if err != nil {
		v.Status, v.Reason = Untrusted, err.Error()
		return v
	}
	var sigs []uki.Certificate
	for _, c := range certs {
		if c.Type == uki.CertTypePKCSSignedData {
			sigs = append(sigs, c)
		}
	}
	for _, h := range hashKeys(digests) {
		if store.DB.ImageHashes[h] {
			v.Status, v.Anchor, v.Signer = Trusted, "db (image digest)", "-"
			return v
		}
	}
	if len(sigs) == 0 {
		v.Status, v.Reason = Unsigned, "no signature"
		return v
	}
	for i, c := range sigs {
		r := SignatureResult{Index: i}
		anchor, signer, err := checkOne(c.Data, digests, store)
		r.Signer, r.Err = signer, err
		v.Signatures = append(v.Signatures, r)
		if err == nil && v.Status != Trusted {
			v.Status, v.Signer, v.Anchor = Trusted, signer, anchor
		}
	}
	if v.Status == Trusted {
		return v
	}
	v.Status = Untrusted
	var reasons []string
	for _, r := range v.Signatures {
		reasons = append(reasons, fmt.Sprintf("signature %d: %v", r.Index+1, r.Err))
	}
	v.Reason = joinReasons(reasons)
	return v
}

// VerifyFile computes f's Authenticode digests from r and verifies them.
// A file whose layout leaves bytes outside the signature is untrusted.
func VerifyFile(f *uki.File, r io.ReaderAt, store *Store) *Verdict {
	d, err := Digests(f, r)
	if err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error()}
	}
	return Verify(f, d, store)
}

func joinReasons(r []string) string {
	var b bytes.Buffer
	for i, s := range r {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

func checkOne(der []byte, digests map[crypto.Hash][]byte, store *Store) (anchor, signer string, err error) {
	s, err := ParseSignature(der)
	if err != nil {
		return "", "", err
	}
	signer = s.Signer.Subject.String()
	want, ok := digests[s.DigestAlgorithm]
	if !ok {
		return "", signer, sigErr("image digest %v was not computed", s.DigestAlgorithm)
	}
	if !bytes.Equal(want, s.ImageDigest) {
		return "", signer, sigErr("the signed digest does not match this image (modified after signing, or a signature from another file)")
	}
	if err := s.CheckSignature(); err != nil {
		return "", signer, err
	}
	chain, anchor, err := buildChain(s.Signer, s.Certificates, store.DB)
	if err != nil {
		return "", signer, err
	}
	for _, c := range chain {
		if why := store.DBX.revoked(c); why != "" {
			return "", signer, sigErr("%s", why)
		}
	}
	return anchor, signer, nil
}

// buildChain walks from the signer to a db certificate, through the
// certificates carried in the signature.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate, db *List) ([]*x509.Certificate, string, error) {
	chain := []*x509.Certificate{leaf}
	cur := leaf
	for depth := 0; depth < 8; depth++ {
		if db.hasCert(cur) {
			return chain, cur.Subject.String(), nil
		}
		for _, a := range db.Certs {
			if bytes.Equal(cur.RawIssuer, a.RawSubject) && cur.CheckSignatureFrom(a) == nil {
				return append(chain, a), a.Subject.String(), nil
			}
		}
		var next *x509.Certificate
		for _, c := range pool {
			if c != cur && bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			return nil, "", sigErr("signer %s does not chain to any certificate in db", leaf.Subject)
		}
		chain = append(chain, next)
		cur = next
	}
	return nil, "", sigErr("certificate chain of %s is too long", leaf.Subject)
}
