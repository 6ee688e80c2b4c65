package authenticode

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
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

// checker makes the public-key checks of one image verification: counted
// against a budget, each (certificate, issuer) pair checked once.
type checker struct {
	spent, budget int
	// verify checks that parent's key signed child; tests count it.
	verify func(child, parent *x509.Certificate) error
	memo   map[[2]*x509.Certificate]bool
}

func newChecker() *checker {
	return &checker{budget: MaxSignatureChecks, verify: checkCertSignature, memo: map[[2]*x509.Certificate]bool{}}
}

func checkCertSignature(child, parent *x509.Certificate) error {
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// errBudget is returned once the budget is spent.
var errBudget = sigErr("more than %d signature checks needed: refusing an image that costs this much work", MaxSignatureChecks)

// spend takes one check from the budget.
func (c *checker) spend() error {
	if c.spent >= c.budget {
		return errBudget
	}
	c.spent++
	return nil
}

// signedBy reports whether parent's key made child's signature. Only the
// key matters here; whether parent may issue certificates is the chain
// builder's business.
func (c *checker) signedBy(child, parent *x509.Certificate) (bool, error) {
	k := [2]*x509.Certificate{child, parent}
	if ok, done := c.memo[k]; done {
		return ok, nil
	}
	if err := c.spend(); err != nil {
		return false, err
	}
	ok := c.verify(child, parent) == nil
	c.memo[k] = ok
	return ok, nil
}

// issues reports whether parent's name is child's issuer name.
func issues(parent, child *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject)
}

// ancestors returns leaf and every certificate of pool reachable from it
// by issuer: a certificate whose subject is the issuer of one already
// found and whose key signed it.
func (c *checker) ancestors(leaf *x509.Certificate, pool []*x509.Certificate) ([]*x509.Certificate, error) {
	found := []*x509.Certificate{leaf}
	for i := 0; i < len(found); i++ {
		cur := found[i]
		for _, p := range pool {
			if containsCert(found, p) || !issues(p, cur) {
				continue
			}
			ok, err := c.signedBy(cur, p)
			if err != nil {
				return nil, err
			}
			if ok {
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
		ok, err := c.signedBy(x, d)
		if err != nil {
			return "", err
		}
		if ok {
			return fmt.Sprintf("certificate %s was issued by dbx certificate %s", x.Subject, d.Subject), nil
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
// the signature carries is revoked. This is EDK2's check (every dbx
// certificate tried as the trust anchor of the signature), extended by
// revokedCert's rules.
func (c *checker) revokedSignature(s *Signature, dbx *List) (string, error) {
	certs, err := c.ancestors(s.Signer, s.Certificates)
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
// that passes RFC 5280's checks for the points UEFI firmware (OpenSSL)
// also checks: every issuing certificate is a CA (X.509 v3 with
// basicConstraints cA; a v1 certificate only as a self-signed anchor),
// keyUsage, when present, allows certificate signing, pathLenConstraint
// holds, and no certificate has a critical extension ukiboot does not
// understand. Validity dates and extended key usage are not checked, as
// UEFI firmware does not check them. Every certificate of the path,
// anchor included, must also pass dbx. It returns the anchor.
func (c *checker) chainToDB(leaf *x509.Certificate, pool []*x509.Certificate, db, dbx *List) (*x509.Certificate, error) {
	var lastErr error
	var walk func(path []*x509.Certificate) (*x509.Certificate, error)
	walk = func(path []*x509.Certificate) (*x509.Certificate, error) {
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
				if containsCert(path, p) || !issues(p, cur) {
					continue
				}
				ok, err := c.signedBy(cur, p)
				if err != nil {
					return nil, err
				}
				if !ok {
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

// checkPath applies the path rules of chainToDB to path, leaf first,
// anchor last.
func (c *checker) checkPath(path []*x509.Certificate, dbx *List) error {
	intermediates := 0 // non-self-issued CA certificates below the current one
	for i, x := range path {
		if len(x.UnhandledCriticalExtensions) > 0 {
			return sigErr("certificate %s has an unknown critical extension %v", x.Subject, x.UnhandledCriticalExtensions[0])
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
		anchor := i == len(path)-1
		switch {
		case x.Version < 3 && !(anchor && isSelfSigned(x)):
			return sigErr("certificate %s is X.509 v%d and cannot be a CA (only a self-signed v1 certificate in db can)", x.Subject, x.Version)
		case x.Version == 3 && !(x.BasicConstraintsValid && x.IsCA):
			return sigErr("certificate %s issued %s but is not a CA (basicConstraints)", x.Subject, path[i-1].Subject)
		case x.KeyUsage != 0 && x.KeyUsage&x509.KeyUsageCertSign == 0:
			return sigErr("certificate %s issued %s but its keyUsage does not allow certificate signing", x.Subject, path[i-1].Subject)
		case x.BasicConstraintsValid && x.MaxPathLen >= 0 && intermediates > x.MaxPathLen:
			return sigErr("certificate %s allows %d intermediate CAs below it (pathLenConstraint), the chain has %d", x.Subject, x.MaxPathLen, intermediates)
		}
		if !anchor && !bytes.Equal(x.RawSubject, x.RawIssuer) {
			intermediates++
		}
	}
	return nil
}

func isSelfSigned(x *x509.Certificate) bool {
	return bytes.Equal(x.RawSubject, x.RawIssuer) && checkCertSignature(x, x) == nil
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
