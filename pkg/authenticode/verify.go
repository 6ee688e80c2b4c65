package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/sbat"
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
	// Signer is the subject of the certificate of the accepted signature;
	// of an untrusted image, of its first valid signature, if any.
	Signer string
	// Anchor is the db entry the accepted signature chains to.
	Anchor string
	// AnchorCert is the DER of that db certificate; nil when the image's
	// own digest is in db (AnchorDigest) or the image is not Trusted.
	AnchorCert []byte
	// AnchorDigest is the image digest db holds (an EFI_CERT_SHA256,
	// SHA384 or SHA512 entry) when that is what allowed the image.
	AnchorDigest []byte
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

// MaxSignatures bounds the entries of an image's certificate table.
const MaxSignatures = 8

// Verify decides whether image f, whose Authenticode digests are given
// (from a Hasher fed the same bytes), is trusted by store. It follows
// EDK2's order (REFERENCE.md §7), with the stricter rules listed in the
// README:
//
//  1. Every entry of the certificate table must be a PKCS#7 signature
//     ukiboot can check; one it cannot understand makes the image
//     untrusted, since it might be a revoked one.
//  2. A signature is valid for this image when the digest it carries is
//     the image's, its messageDigest matches its content and the signer's
//     signature verifies.
//  3. dbx first: one valid signature whose signer, or any certificate
//     above it, is revoked denies the image, whatever else would allow it.
//  4. The image's digest in dbx denies it.
//  5. The image's digest in db, or a valid signature whose signer chains
//     to a db certificate, allows it.
//  6. With an SbatLevel in the store, an allowed image must also pass
//     shim's SBAT check (pkg/sbat).
//
// Validity dates are ignored, as UEFI firmware ignores them.
func Verify(f *uki.File, digests map[crypto.Hash][]byte, store *Store) *Verdict {
	return verify(f, digests, store, newChecker())
}

func verify(f *uki.File, digests map[crypto.Hash][]byte, store *Store, chk *checker) *Verdict {
	sigs, err := signatures(f)
	if err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error()}
	}
	return verifySignatures(f, sigs, digests, store, chk)
}

// signatures reads f's certificate table and parses every entry: step 1
// of Verify, which needs no digest. An error is the Reason of the
// Untrusted verdict Verify gives, whatever the image's digests.
func signatures(f *uki.File) ([]*Signature, error) {
	entries, err := f.Certificates()
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		// As EDK2: the entries, each padded to 8 bytes, fill the table
		// exactly. (uki.ParseCertificateTable allows zero padding.)
		last := entries[len(entries)-1]
		ct := f.Header.CertTable()
		if end, want := last.Offset+(int64(last.Length)+7)&^7, int64(ct.VirtualAddress)+int64(ct.Size); end != want {
			return nil, fmt.Errorf("the certificate table is %d bytes but its entries fill %d: EDK2 refuses such a table too", ct.Size, int64(ct.Size)-(want-end))
		}
	}
	if len(entries) > MaxSignatures {
		return nil, fmt.Errorf("the certificate table holds %d entries, ukiboot checks at most %d", len(entries), MaxSignatures)
	}
	sigs := make([]*Signature, len(entries))
	for i, e := range entries {
		if e.Type != uki.CertTypePKCSSignedData {
			return nil, fmt.Errorf("signature %d: WIN_CERTIFICATE type %s is not PKCS#7 SignedData; an entry that cannot be checked could be a revoked signature", i+1, uki.CertTypeName(e.Type))
		}
		s, err := ParseSignature(e.Data)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		sigs[i] = s
	}
	return sigs, nil
}

// verifySignatures is Verify after step 1: sigs are f's signatures.
func verifySignatures(f *uki.File, sigs []*Signature, digests map[crypto.Hash][]byte, store *Store, chk *checker) *Verdict {
	v := &Verdict{}
	untrusted := func(format string, args ...any) *Verdict {
		v.Status, v.Reason = Untrusted, fmt.Sprintf(format, args...)
		return v
	}
	// Share identical certificates between the signatures, so that each
	// pair is checked once.
	internCerts(sigs)
	// A signature whose digest algorithm was not computed cannot be
	// judged, so it cannot be checked against dbx either: fail closed.
	for i, s := range sigs {
		if _, ok := digests[s.DigestAlgorithm]; !ok {
			return untrusted("signature %d: image digest %v was not computed; a signature that cannot be checked could be a revoked one", i+1, s.DigestAlgorithm)
		}
	}
	// 2. Which signatures are valid for this image.
	valid := make([]bool, len(sigs))
	for i, s := range sigs {
		r := SignatureResult{Index: i, Signer: s.Signer.Subject.String()}
		r.Err = checkValid(s, digests, chk)
		if r.Err == errBudget {
			return untrusted("%v", r.Err)
		}
		valid[i] = r.Err == nil
		v.Signatures = append(v.Signatures, r)
	}
	// 3. dbx, for every valid signature.
	for i, s := range sigs {
		if !valid[i] {
			continue
		}
		why, err := chk.revokedSignature(s, store.DB, store.DBX)
		if err != nil {
			return untrusted("signature %d: %v", i+1, err)
		}
		if why != "" {
			v.Signatures[i].Err = sigErr("revoked: %s", why)
			return untrusted("signature %d (%s) is revoked: %s", i+1, s.Signer.Subject, why)
		}
	}
	// 4. The image's digest in dbx.
	imageHashes := hashKeys(digests)
	for _, h := range imageHashes {
		if store.DBX.ImageHashes[h] {
			return untrusted("the image's digest is in dbx")
		}
	}
	// 5. The image's digest in db, then chains to db.
	for _, h := range imageHashes {
		if store.DB.ImageHashes[h] {
			v.Status, v.Anchor, v.Signer = Trusted, "db (image digest)", "-"
			v.AnchorDigest, _ = hex.DecodeString(h)
			return checkSBAT(f, store, v)
		}
	}
	if len(sigs) == 0 {
		v.Status, v.Reason = Unsigned, "no signature"
		return v
	}
	for i, s := range sigs {
		if !valid[i] {
			continue
		}
		anchor, err := chk.chainToDB(s.Signer, s.Certificates, store.DB, store.DBX)
		if err == errBudget || err == errSteps {
			return untrusted("signature %d: %v", i+1, err)
		}
		if err != nil {
			v.Signatures[i].Err = err
			continue
		}
		if v.Status != Trusted {
			v.Status, v.Signer, v.Anchor = Trusted, s.Signer.Subject.String(), anchor.Subject.String()
			v.AnchorCert = anchor.Raw
		}
	}
	if v.Status == Trusted {
		return checkSBAT(f, store, v)
	}
	for i, s := range sigs {
		if valid[i] { // the signer is known, if not trusted
			v.Signer = s.Signer.Subject.String()
			break
		}
	}
	if store.DB.Empty() && v.Signer != "" {
		return untrusted("signed by %s, but no trust store was given (db is empty: -db, /etc/ukiboot/db or the firmware's db)", v.Signer)
	}
	var reasons []string
	for _, r := range v.Signatures {
		reasons = append(reasons, fmt.Sprintf("signature %d: %v", r.Index+1, r.Err))
	}
	return untrusted("%s", strings.Join(reasons, "; "))
}

// VerifyFile computes f's Authenticode digests from r and verifies them.
// It computes only the digests NeededAlgorithms names, from the
// signatures it then verifies, and none when the certificate table
// cannot be parsed. A file whose layout leaves bytes outside the
// signature is untrusted.
func VerifyFile(f *uki.File, r io.ReaderAt, store *Store) *Verdict {
	l, err := LayoutOf(f)
	if err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error()}
	}
	sigs, err := signatures(f)
	if err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error()}
	}
	d, err := hashLayout(l, r, neededAlgorithms(sigs, store)...)
	if err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error()}
	}
	return verifySignatures(f, sigs, d, store, newChecker())
}

// checkSBAT refuses a trusted image whose .sbat the SbatLevel revokes
// (6. in Verify's list), as shim does under Secure Boot.
func checkSBAT(f *uki.File, store *Store, v *Verdict) *Verdict {
	if store.SBAT == nil {
		return v
	}
	if err := sbat.CheckImage(f, store.SBAT); err != nil {
		return &Verdict{Status: Untrusted, Reason: err.Error(), Signatures: v.Signatures}
	}
	return v
}

// checkValid says whether s is a valid signature of the image whose
// digests are given.
func checkValid(s *Signature, digests map[crypto.Hash][]byte, chk *checker) error {
	want, ok := digests[s.DigestAlgorithm]
	if !ok {
		return sigErr("image digest %v was not computed", s.DigestAlgorithm)
	}
	if !bytes.Equal(want, s.ImageDigest) {
		return sigErr("the signed digest does not match this image (modified after signing, or a signature from another file)")
	}
	return s.checkSignature(chk)
}

// internCerts makes certificates with the same bytes one object across
// the signatures of an image.
func internCerts(sigs []*Signature) {
	seen := map[string]*x509.Certificate{}
	one := func(c *x509.Certificate) *x509.Certificate {
		if x, ok := seen[string(c.Raw)]; ok {
			return x
		}
		seen[string(c.Raw)] = c
		return c
	}
	for _, s := range sigs {
		for i, c := range s.Certificates {
			s.Certificates[i] = one(c)
		}
		s.Signer = one(s.Signer)
	}
}
