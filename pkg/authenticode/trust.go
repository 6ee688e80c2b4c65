package authenticode

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
)

func tbsHashes(c *x509.Certificate) []string {
	s256 := sha256.Sum256(c.RawTBSCertificate)
	s384 := sha512.Sum384(c.RawTBSCertificate)
	s512 := sha512.Sum512(c.RawTBSCertificate)
	return []string{fmt.Sprintf("%x", s256), fmt.Sprintf("%x", s384), fmt.Sprintf("%x", s512)}
}

// revoked says why dbx forbids a certificate, or "".
func (l *List) revoked(c *x509.Certificate) string {
	for _, x := range l.Certs {
		if bytes.Equal(x.Raw, c.Raw) {
			return "its certificate " + c.Subject.String() + " is in dbx"
		}
	}
	for _, h := range tbsHashes(c) {
		if l.TBSHashes[h] {
			return "the TBS hash of certificate " + c.Subject.String() + " is in dbx"
		}
	}
	return ""
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
