package authenticode

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// MaxSignatureChecks bounds the public-key signature checks made for one
// image (certificate by certificate while chains are built, and each
// signer's signature over its attributes), as Go's own chain builder
// stops at 100. A real image needs a handful; an image that needs more is
// refused.
const MaxSignatureChecks = 100

// maxChainDepth bounds the certificates in a chain, anchor included.
const maxChainDepth = 8

// maxChainSteps bounds the certificates the chain search visits for one
// image: certificates that share a name and a key would otherwise make
// the paths to try grow exponentially at no cost in signature checks.
const maxChainSteps = 1000

// checker makes the public-key checks of one image verification: counted
// against a budget, each (certificate, issuer) pair checked once.
type checker struct {
	spent, budget int
	steps         int // certificates visited by the chain search
	// verify checks that parent's key signed child; tests count it.
	verify func(child, parent *x509.Certificate) error
	memo   map[[2]*x509.Certificate]signed
	// revoked remembers revokedCert's answers: the dbx check of a
	// certificate, TBS hashes included, is made once an image, however
	// many paths the chain search tries through it.
	revoked map[*x509.Certificate]string
}

func newChecker() *checker {
	return &checker{budget: MaxSignatureChecks, verify: checkCertSignature,
		memo: map[[2]*x509.Certificate]signed{}, revoked: map[*x509.Certificate]string{}}
}

func checkCertSignature(child, parent *x509.Certificate) error {
	err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
	if child.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		if perr := checkPSS(child, parent); perr != errNotPSS {
			return perr
		}
	}
	return err
}

// errBudget is returned once the budget is spent.
var errBudget = sigErr("more than %d signature checks needed: refusing an image that costs this much work", MaxSignatureChecks)

// errSteps is returned when the chain search visits too many certificates.
var errSteps = sigErr("chain search visits more than %d certificates: refusing an image that costs this much work", maxChainSteps)

// spend takes one check from the budget.
func (c *checker) spend() error {
	if c.spent >= c.budget {
		return errBudget
	}
	c.spent++
	return nil
}

// signed is what a signature check found.
type signed int

const (
	notSigned signed = iota // the signature does not verify with this key
	isSigned                // it verifies
	// mayBeSigned: ukiboot cannot tell (an algorithm Go does not verify:
	// RSA-PSS with unusual parameters, MD5, DSA, short RSA keys). It
	// never allows anything, and counts as signed where a revocation
	// could hide behind it.
	mayBeSigned
)

// signedBy says whether parent's key made child's signature. Only the key
// matters here; whether parent may issue certificates is the chain
// builder's business.
func (c *checker) signedBy(child, parent *x509.Certificate) (signed, error) {
	k := [2]*x509.Certificate{child, parent}
	if r, done := c.memo[k]; done {
		return r, nil
	}
	if err := c.spend(); err != nil {
		return notSigned, err
	}
	r := isSigned
	if err := c.verify(child, parent); err != nil {
		r = mayBeSigned
		if isVerificationFailure(err) {
			r = notSigned
		}
	}
	c.memo[k] = r
	return r, nil
}

// isVerificationFailure reports whether err says that a signature of an
// algorithm Go implements does not verify (as opposed to an algorithm or
// key it cannot check).
func isVerificationFailure(err error) bool {
	if errors.Is(err, rsa.ErrVerification) {
		return true
	}
	switch err.Error() { // crypto/x509's messages for these two
	case "x509: ECDSA verification failure", "x509: Ed25519 verification failure":
		return true
	}
	return false
}

// issues reports whether parent's name is child's issuer name, compared
// as OpenSSL compares names (names.go).
func issues(parent, child *x509.Certificate) bool {
	return sameName(child.RawIssuer, parent.RawSubject)
}

// keyIDsAgree reports whether parent may have issued child as far as key
// identifiers tell: when child names its issuer's key identifier and
// parent has one, they are equal (OpenSSL's X509_check_issued).
func keyIDsAgree(parent, child *x509.Certificate) bool {
	return len(child.AuthorityKeyId) == 0 || len(parent.SubjectKeyId) == 0 || bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
}

// ancestors returns leaf and every certificate of pool reachable from it
// by issuer: a certificate whose subject is the issuer of one already
// found and whose key signed it (or may have: see mayBeSigned).
func (c *checker) ancestors(leaf *x509.Certificate, pool []*x509.Certificate) ([]*x509.Certificate, error) {
	found := []*x509.Certificate{leaf}
	for i := 0; i < len(found); i++ {
		cur := found[i]
		for _, p := range pool {
			if containsCert(found, p) || !issues(p, cur) {
				continue
			}
			r, err := c.signedBy(cur, p)
			if err != nil {
				return nil, err
			}
			if r != notSigned {
				found = append(found, p)
			}
		}
	}
	return found, nil
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x == c || bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// revokedCert says why dbx forbids certificate x, or "". A certificate is
// revoked when dbx holds
//   - the same certificate: the same bytes, the same TBSCertificate, or
//     the same public key (stricter than EDK2, which matches a leaf only
//     byte for byte: a re-encoded or re-issued copy of a revoked
//     certificate needs no new key, so the key is what is revoked);
//   - the hash of its TBSCertificate (EFI_CERT_X509_SHA256/384/512);
//   - its issuer: a certificate whose subject is x's issuer and whose key
//     signed x (revocation by chaining, as EDK2 revokes an issuing CA).
func (c *checker) revokedCert(x *x509.Certificate, dbx *List) (string, error) {
	if dbx == nil {
		return "", nil
	}
	if why, done := c.revoked[x]; done {
		return why, nil
	}
	why, err := c.revokedBy(x, dbx)
	if err == nil {
		c.revoked[x] = why
	}
	return why, err
}

func (c *checker) revokedBy(x *x509.Certificate, dbx *List) (string, error) {
	for _, d := range dbx.Certs {
		switch {
		case bytes.Equal(d.Raw, x.Raw):
			return fmt.Sprintf("certificate %s is in dbx", x.Subject), nil
		case bytes.Equal(d.RawTBSCertificate, x.RawTBSCertificate):
			return fmt.Sprintf("certificate %s is in dbx (encoded differently)", x.Subject), nil
		case sameKey(d, x):
			return fmt.Sprintf("the key of certificate %s is revoked by dbx certificate %s", x.Subject, d.Subject), nil
		}
	}
	for _, h := range tbsHashes(x) {
		if dbx.TBSHashes[h] {
			return fmt.Sprintf("the TBS hash of certificate %s is in dbx", x.Subject), nil
		}
	}
	for _, d := range dbx.Certs {
		if !issues(d, x) {
			continue
		}
		r, err := c.signedBy(x, d)
		if err != nil {
			return "", err
		}
		switch r {
		case isSigned:
			return fmt.Sprintf("certificate %s was issued by dbx certificate %s", x.Subject, d.Subject), nil
		case mayBeSigned:
			return fmt.Sprintf("certificate %s names dbx certificate %s as its issuer, with a signature algorithm ukiboot cannot check (%v)", x.Subject, d.Subject, x.SignatureAlgorithm), nil
		}
	}
	return "", nil
}

// sameKey reports whether two certificates certify the same public key.
func sameKey(a, b *x509.Certificate) bool {
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}

// revokedSignature says why dbx forbids signature s, or "": any
// certificate on any path from the signer upward through the certificates
// the signature carries and those of db is revoked. This is EDK2's check
// (every dbx certificate tried as the trust anchor of the signature),
// extended by revokedCert's rules and by db's certificates: a db
// certificate issued by a revoked one is revoked too, whichever db
// certificate a chain is anchored at.
func (c *checker) revokedSignature(s *Signature, db, dbx *List) (string, error) {
	pool := s.Certificates
	if db != nil {
		pool = append(pool[:len(pool):len(pool)], db.Certs...)
	}
	certs, err := c.ancestors(s.Signer, pool)
	if err != nil {
		return "", err
	}
	for _, x := range certs {
		why, err := c.revokedCert(x, dbx)
		if why != "" || err != nil {
			return why, err
		}
	}
	return "", nil
}

// chainToDB finds a path from leaf through pool to a certificate in db
// that passes the checks OpenSSL makes for UEFI firmware (EDK2), held to
// RFC 5280 where the two differ for issuing certificates:
//   - names chain as OpenSSL compares them, and key identifiers, when
//     both are present, agree;
//   - every intermediate is a CA: X.509 v3 with basicConstraints cA
//     (a v1 certificate cannot be one);
//   - the db anchor, when it issued the next certificate, is a CA as
//     OpenSSL accepts one: basicConstraints cA, or no basicConstraints
//     and a keyUsage with keyCertSign or a Netscape CA type, or a
//     self-signed v1 certificate;
//   - keyUsage, when present on an issuer, allows keyCertSign;
//   - pathLenConstraint holds;
//   - no certificate has a critical extension OpenSSL does not know, and
//     no issuer has name constraints (ukiboot does not evaluate them).
//
// Validity dates and extended key usage are not checked, as UEFI
// firmware does not check them. Every certificate of the path, anchor
// included, must also pass dbx. It returns the anchor.
func (c *checker) chainToDB(leaf *x509.Certificate, pool []*x509.Certificate, db, dbx *List) (*x509.Certificate, error) {
	var lastErr error
	var walk func(path []*x509.Certificate) (*x509.Certificate, error)
	walk = func(path []*x509.Certificate) (*x509.Certificate, error) {
		if c.steps++; c.steps > maxChainSteps {
			return nil, errSteps
		}
		cur := path[len(path)-1]
		if db.hasCert(cur) {
			if err := c.checkPath(path, dbx); err != nil {
				lastErr = err
				return nil, nil
			}
			return cur, nil
		}
		if len(path) == maxChainDepth {
			lastErr = sigErr("certificate chain of %s is longer than %d", leaf.Subject, maxChainDepth)
			return nil, nil
		}
		for _, group := range [][]*x509.Certificate{db.Certs, pool} {
			for _, p := range group {
				if containsCert(path, p) || !issues(p, cur) || !keyIDsAgree(p, cur) {
					continue
				}
				r, err := c.signedBy(cur, p)
				if err != nil {
					return nil, err
				}
				if r != isSigned {
					continue
				}
				if a, err := walk(append(path[:len(path):len(path)], p)); a != nil || err != nil {
					return a, err
				}
			}
		}
		return nil, nil
	}
	a, err := walk([]*x509.Certificate{leaf})
	if err != nil || a != nil {
		return a, err
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, sigErr("signer %s does not chain to any certificate in db", leaf.Subject)
}

// Extensions (OIDs as strings).
const (
	oidExtKeyUsage        = "2.5.29.15"
	oidExtNameConstraints = "2.5.29.30"
	oidExtNetscapeType    = "2.16.840.1.113730.1.1"
)

// criticalKnown lists the extensions OpenSSL accepts when they are marked
// critical (X509_supported_extension); any other critical extension
// makes a chain fail there, and here.
var criticalKnown = map[string]bool{
	oidExtNetscapeType:    true, // nsCertType
	oidExtKeyUsage:        true,
	"2.5.29.17":           true, // subjectAltName
	"2.5.29.19":           true, // basicConstraints
	"2.5.29.32":           true, // certificatePolicies
	"2.5.29.37":           true, // extKeyUsage
	"1.3.6.1.5.5.7.1.7":   true, // sbgp-ipAddrBlock
	"1.3.6.1.5.5.7.1.8":   true, // sbgp-autonomousSysNum
	"2.5.29.36":           true, // policyConstraints
	"1.3.6.1.5.5.7.1.14":  true, // proxyCertInfo
	oidExtNameConstraints: true,
	"2.5.29.33":           true, // policyMappings
	"2.5.29.54":           true, // inhibitAnyPolicy
}

func extension(x *x509.Certificate, oid string) (pkix.Extension, bool) {
	for _, e := range x.Extensions {
		if e.Id.String() == oid {
			return e, true
		}
	}
	return pkix.Extension{}, false
}

// netscapeCA reports whether x has a Netscape certificate type naming a
// CA (SSL, S/MIME or object-signing CA).
func netscapeCA(x *x509.Certificate) bool {
	e, ok := extension(x, oidExtNetscapeType)
	if !ok {
		return false
	}
	var bits asn1.BitString
	if rest, err := asn1.Unmarshal(e.Value, &bits); err != nil || len(rest) > 0 || len(bits.Bytes) == 0 {
		return false
	}
	return bits.Bytes[0]&0x07 != 0
}

// checkPath applies the path rules of chainToDB to path, leaf first,
// anchor last.
func (c *checker) checkPath(path []*x509.Certificate, dbx *List) error {
	intermediates := 0 // non-self-issued CA certificates below the current one
	for i, x := range path {
		for _, e := range x.Extensions {
			if e.Critical && !criticalKnown[e.Id.String()] {
				return sigErr("certificate %s has an unknown critical extension %v", x.Subject, e.Id)
			}
		}
		if why, err := c.revokedCert(x, dbx); why != "" || err != nil {
			if err != nil {
				return err
			}
			return sigErr("%s", why)
		}
		if i == 0 {
			continue
		}
		below := path[i-1].Subject
		_, hasKeyUsage := extension(x, oidExtKeyUsage)
		if _, ok := extension(x, oidExtNameConstraints); ok {
			return sigErr("certificate %s has name constraints, which ukiboot does not evaluate", x.Subject)
		}
		if err := checkCA(x, i == len(path)-1, hasKeyUsage); err != nil {
			return sigErr("certificate %s issued %s but %v", x.Subject, below, err)
		}
		switch {
		case hasKeyUsage && x.KeyUsage&x509.KeyUsageCertSign == 0:
			return sigErr("certificate %s issued %s but its keyUsage does not allow certificate signing", x.Subject, below)
		case x.BasicConstraintsValid && x.MaxPathLen >= 0 && intermediates > x.MaxPathLen:
			return sigErr("certificate %s allows %d intermediate CAs below it (pathLenConstraint), the chain has %d", x.Subject, x.MaxPathLen, intermediates)
		}
		if !sameName(x.RawSubject, x.RawIssuer) {
			intermediates++
		}
	}
	return nil
}

// checkCA says why x cannot issue certificates, or nil.
func checkCA(x *x509.Certificate, anchor, hasKeyUsage bool) error {
	switch {
	case x.BasicConstraintsValid:
		if !x.IsCA {
			return errors.New("it is not a CA (basicConstraints)")
		}
	case x.Version < 3:
		if !anchor || !isSelfSigned(x) {
			return fmt.Errorf("it is X.509 v%d, which can be a CA only as a self-signed certificate in db", x.Version)
		}
	case !anchor:
		return errors.New("it has no basicConstraints: an intermediate CA must say cA (RFC 5280)")
	case !hasKeyUsage && !netscapeCA(x):
		return errors.New("it has neither basicConstraints nor a keyUsage or Netscape type that makes it a CA")
	}
	return nil
}

func isSelfSigned(x *x509.Certificate) bool {
	return sameName(x.RawSubject, x.RawIssuer) && checkCertSignature(x, x) == nil
}

func tbsHashes(c *x509.Certificate) []string {
	s256 := sha256.Sum256(c.RawTBSCertificate)
	s384 := sha512.Sum384(c.RawTBSCertificate)
	s512 := sha512.Sum512(c.RawTBSCertificate)
	return []string{fmt.Sprintf("%x", s256), fmt.Sprintf("%x", s384), fmt.Sprintf("%x", s512)}
}

func (l *List) hasCert(c *x509.Certificate) bool {
	for _, x := range l.Certs {
		if bytes.Equal(x.Raw, c.Raw) {
			return true
		}
	}
	return false
}

func hashKeys(d map[crypto.Hash][]byte) []string {
	var out []string
	for _, a := range Algorithms {
		if v, ok := d[a]; ok {
			out = append(out, fmt.Sprintf("%x", v))
		}
	}
	return out
}
