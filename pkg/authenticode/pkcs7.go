package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Object identifiers.
var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type signerInfo struct {
	Version                   int
	IssuerAndSerial           issuerAndSerial
	DigestAlgorithm           pkix.AlgorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	DigestEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedDigest           []byte
	UnauthenticatedAttributes asn1.RawValue `asn1:"optional,tag:1"`
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type spcIndirectDataContent struct {
	Data          asn1.RawValue
	MessageDigest digestInfo
}

// Signature is one parsed Authenticode signature.
type Signature struct {
	// DigestAlgorithm and ImageDigest are what the signer claims the
	// image's Authenticode digest is.
	DigestAlgorithm crypto.Hash
	ImageDigest     []byte
	// Signer is the certificate that made the signature.
	Signer *x509.Certificate
	// Certificates are all certificates carried in the signature.
	Certificates []*x509.Certificate

	content    []byte // SpcIndirectDataContent, value octets
	signedAttr []byte // authenticated attributes, re-tagged as a SET
	attrs      []attribute
	signerHash crypto.Hash
	sigAlg     asn1.ObjectIdentifier
	sigValue   []byte
}

// MaxCertificatesPerSignature bounds the certificates one signature may
// carry. Real Authenticode signatures carry one to four; each one costs
// work when chains are built.
const MaxCertificatesPerSignature = 32

// MaxRSABits bounds the RSA keys of certificates in a signature, as
// OpenSSL (and so EDK2) bounds them (OPENSSL_RSA_MAX_MODULUS_BITS): the
// cost of one check grows with the square of the modulus, and Go sets
// no limit.
const MaxRSABits = 16384

// ErrSignature is wrapped by every parse and verification failure.
var ErrSignature = errors.New("bad signature")

func sigErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSignature, fmt.Sprintf(format, args...))
}

// ParseSignature parses a WIN_CERTIFICATE's PKCS#7 SignedData.
func ParseSignature(der []byte) (*Signature, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, sigErr("not PKCS#7: %v", err)
	}
	if len(bytes.TrimRight(rest, "\x00")) > 0 {
		return nil, sigErr("%d bytes of garbage after the signature", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, sigErr("content type %v is not SignedData", ci.ContentType)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, sigErr("SignedData: %v", err)
	}
	if !sd.ContentInfo.ContentType.Equal(oidSpcIndirectData) {
		return nil, sigErr("signed content %v is not SpcIndirectDataContent", sd.ContentInfo.ContentType)
	}
	// The signed content is the SpcIndirectDataContent SEQUENCE; its
	// messageDigest attribute covers the SEQUENCE's value octets only.
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &seq); err != nil || seq.Tag != asn1.TagSequence {
		return nil, sigErr("SpcIndirectDataContent is not a SEQUENCE")
	}
	var spc spcIndirectDataContent
	if _, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &spc); err != nil {
		return nil, sigErr("SpcIndirectDataContent: %v", err)
	}
	s := &Signature{content: seq.Bytes, ImageDigest: spc.MessageDigest.Digest}
	var ok bool
	if s.DigestAlgorithm, ok = hashOf(spc.MessageDigest.Algorithm.Algorithm); !ok {
		return nil, sigErr("image digest algorithm %v not supported (SHA-256/384/512 are)", spc.MessageDigest.Algorithm.Algorithm)
	}
	if len(s.ImageDigest) != s.DigestAlgorithm.Size() {
		return nil, sigErr("image digest is %d bytes, %v needs %d", len(s.ImageDigest), s.DigestAlgorithm, s.DigestAlgorithm.Size())
	}
	ders, err := splitCertificates(sd.Certificates.Bytes, MaxCertificatesPerSignature)
	if err != nil {
		return nil, sigErr("certificates: %v", err)
	}
	for i, der := range ders {
		if err := checkCanonicalCert(der); err != nil {
			return nil, sigErr("certificate %d: %v (a re-encoded certificate could evade dbx)", i+1, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, sigErr("certificate %d: %v", i+1, err)
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() > MaxRSABits {
			return nil, sigErr("certificate %d (%s): RSA key of %d bits, ukiboot checks keys of at most %d bits", i+1, c.Subject, k.N.BitLen(), MaxRSABits)
		}
		s.Certificates = append(s.Certificates, c)
	}
	if len(sd.SignerInfos) != 1 {
		return nil, sigErr("%d signer infos, Authenticode has exactly one", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	// The signer is the first certificate whose serial and issuer match,
	// names compared as OpenSSL compares them (X509_find_by_issuer_and_serial,
	// which EDK2's PKCS7_verify uses): issuerAndSerial is not signed, and a
	// byte-for-byte match could pick a decoy where OpenSSL picks a revoked
	// signer.
	for _, c := range s.Certificates {
		if c.SerialNumber.Cmp(si.IssuerAndSerial.Serial) == 0 && sameName(c.RawIssuer, si.IssuerAndSerial.Issuer.FullBytes) {
			s.Signer = c
			break
		}
	}
	if s.Signer == nil {
		return nil, sigErr("the signer's certificate is not in the signature")
	}
	if s.signerHash, ok = hashOf(si.DigestAlgorithm.Algorithm); !ok {
		return nil, sigErr("signer digest algorithm %v not supported", si.DigestAlgorithm.Algorithm)
	}
	if len(si.AuthenticatedAttributes.Bytes) == 0 {
		return nil, sigErr("no authenticated attributes")
	}
	// The signature covers the attributes DER-encoded as a SET OF.
	s.signedAttr = append([]byte{0x31}, si.AuthenticatedAttributes.FullBytes[1:]...)
	rest = si.AuthenticatedAttributes.Bytes
	for len(rest) > 0 {
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return nil, sigErr("authenticated attribute: %v", err)
		}
		s.attrs = append(s.attrs, a)
	}
	s.sigAlg = si.DigestEncryptionAlgorithm.Algorithm
	s.sigValue = si.EncryptedDigest
	// OpenSSL (so EDK2) ignores digestEncryptionAlgorithm, which the
	// signer does not sign: a signature ukiboot would call invalid for it
	// may be valid, and revoked, there. One ukiboot cannot check refuses
	// the image (Verify's rule 1), never passes as invalid.
	if err := s.checkAlgorithm(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkAlgorithm says why s's signature algorithm does not fit its
// signer's key, or nil.
func (s *Signature) checkAlgorithm() error {
	switch s.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		if !(s.sigAlg.Equal(oidRSAEncryption) || s.sigAlg.Equal(oidSHA256WithRSA) || s.sigAlg.Equal(oidSHA384WithRSA) || s.sigAlg.Equal(oidSHA512WithRSA)) {
			return sigErr("signature algorithm %v does not fit an RSA key", s.sigAlg)
		}
	case *ecdsa.PublicKey:
		if !(s.sigAlg.Equal(oidECDSAWithSHA256) || s.sigAlg.Equal(oidECDSAWithSHA384) || s.sigAlg.Equal(oidECDSAWithSHA512) || s.sigAlg.Equal(oidECPublicKey)) {
			return sigErr("signature algorithm %v does not fit an ECDSA key", s.sigAlg)
		}
	default:
		return sigErr("signer key type %T not supported", s.Signer.PublicKey)
	}
	return nil
}

func (s *Signature) attr(oid asn1.ObjectIdentifier) ([]byte, bool) {
	for _, a := range s.attrs {
		if a.Type.Equal(oid) {
			return a.Values.Bytes, true
		}
	}
	return nil, false
}

// CheckSignature verifies everything inside the signature: the signed
// content's digest against the messageDigest attribute, the content type
// attribute, and the signer's signature over the attributes. It does not
// look at the image or at trust.
func (s *Signature) CheckSignature() error {
	return s.checkSignature(newChecker())
}

// checkSignature is CheckSignature with the public-key operation counted
// against c's budget.
func (s *Signature) checkSignature(c *checker) error {
	raw, ok := s.attr(oidMessageDigest)
	if !ok {
		return sigErr("no messageDigest attribute")
	}
	var md []byte
	if _, err := asn1.Unmarshal(raw, &md); err != nil {
		return sigErr("messageDigest: %v", err)
	}
	h := s.signerHash.New()
	h.Write(s.content)
	if !bytes.Equal(h.Sum(nil), md) {
		return sigErr("messageDigest does not match the signed content")
	}
	if raw, ok := s.attr(oidContentType); ok {
		var ct asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(raw, &ct); err != nil || !ct.Equal(oidSpcIndirectData) {
			return sigErr("contentType attribute is not SpcIndirectDataContent")
		}
	}
	if err := c.spend(); err != nil {
		return err
	}
	h = s.signerHash.New()
	h.Write(s.signedAttr)
	sum := h.Sum(nil)
	if err := s.checkAlgorithm(); err != nil {
		return err
	}
	switch pub := s.Signer.PublicKey.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, s.signerHash, sum, s.sigValue); err != nil {
			return sigErr("RSA signature does not verify: %v", err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, sum, s.sigValue) {
			return sigErr("ECDSA signature does not verify")
		}
	default:
		return sigErr("signer key type %T not supported", pub)
	}
	return nil
}
