package authenticode

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
)

// Go verifies RSASSA-PSS certificate signatures only with the salt as
// long as the hash. OpenSSL verifies any parameters, and CAs use others
// (Windows CAs, `openssl x509 -sigopt rsa_pss_saltlen:20`), so ukiboot
// reads the parameters itself (RFC 4055) when Go cannot.

var (
	oidRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

type pssParams struct {
	Hash         pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:0"`
	MGF          pkix.AlgorithmIdentifier `asn1:"explicit,optional,tag:1"`
	SaltLength   int                      `asn1:"explicit,optional,tag:2,default:20"`
	TrailerField int                      `asn1:"explicit,optional,tag:3,default:1"`
}

// errNotPSS says a signature is not one checkPSS can check.
var errNotPSS = errors.New("not an RSASSA-PSS signature ukiboot can check")

// checkPSS verifies child's signature with parent's RSA key when it is
// RSASSA-PSS with explicit parameters: a SHA-1/256/384/512 hash, MGF1
// with the same hash, trailer field 1, any salt length.
func checkPSS(child, parent *x509.Certificate) error {
	key, ok := parent.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errNotPSS
	}
	var outer struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
		Sig    asn1.BitString
	}
	if _, err := asn1.Unmarshal(child.Raw, &outer); err != nil || !outer.SigAlg.Algorithm.Equal(oidRSAPSS) {
		return errNotPSS
	}
	var p pssParams
	if rest, err := asn1.Unmarshal(outer.SigAlg.Parameters.FullBytes, &p); err != nil || len(rest) > 0 || p.TrailerField != 1 || p.SaltLength < 0 {
		return errNotPSS
	}
	hashOID := p.Hash.Algorithm
	if len(hashOID) == 0 {
		hashOID = oidSHA1 // the default of RFC 4055
	}
	h, ok := pssHash(hashOID)
	if !ok {
		return errNotPSS
	}
	mgfHash := oidSHA1
	if len(p.MGF.Algorithm) > 0 {
		var inner pkix.AlgorithmIdentifier
		if !p.MGF.Algorithm.Equal(oidMGF1) {
			return errNotPSS
		}
		if _, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &inner); err != nil {
			return errNotPSS
		}
		mgfHash = inner.Algorithm
	}
	if !mgfHash.Equal(hashOID) { // Go's rsa uses the same hash for MGF1
		return errNotPSS
	}
	d := h.New()
	d.Write(child.RawTBSCertificate)
	return rsa.VerifyPSS(key, h, d.Sum(nil), outer.Sig.RightAlign(), &rsa.PSSOptions{SaltLength: p.SaltLength, Hash: h})
}

func pssHash(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	if oid.Equal(oidSHA1) {
		return crypto.SHA1, true
	}
	return hashOf(oid)
}
