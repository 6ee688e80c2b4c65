package authenticode_test

// An emulation of EDK2's image verification (SecurityPkg
// DxeImageVerificationLib.c: DxeImageVerificationHandler,
// HashPeImageByType, HashPeImage, IsForbiddenByDbx, IsAllowedByDb,
// IsCertHashFoundInDbx; CryptoPkg CryptAuthenticode.c AuthenticodeVerify
// and CryptPkcs7VerifyCommon.c Pkcs7Verify, Pkcs7GetSigners), written from
// reading them. Its control flow is in Go; the one decision EDK2 leaves to
// OpenSSL, PKCS7_verify with a single trusted certificate,
// X509_V_FLAG_PARTIAL_CHAIN, X509_V_FLAG_NO_CHECK_TIME and
// X509_PURPOSE_ANY, is made by OpenSSL itself through `openssl smime
// -verify`. No dbt (timestamp database) exists, so a certificate hash
// found in dbx always forbids, whatever its revocation time.

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// edk2 runs the emulation; dir holds the files given to openssl.
type edk2 struct {
	openssl string
	dir     string
	n       int // file counter
	trace   []string
	parses  map[string]bool // d2i_PKCS7 results, by signature bytes
}

func (e *edk2) logf(format string, args ...any) {
	e.trace = append(e.trace, fmt.Sprintf(format, args...))
}

func (e *edk2) file(data []byte) string {
	e.n++
	p := filepath.Join(e.dir, fmt.Sprintf("edk2-%d", e.n))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		panic(err)
	}
	return p
}

// The OIDs HashPeImageByType looks for at offset 32 (mHash[].OidValue).
// SHA-1 is left out: EDK2 builds with it only for old platforms and the
// corpus never uses it.
var edk2HashOIDs = []struct {
	alg crypto.Hash
	oid []byte
}{
	{crypto.SHA256, []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}},
	{crypto.SHA384, []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}},
	{crypto.SHA512, []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}},
}

// peInfo is what the handler reads from the headers.
type peInfo struct {
	checkSum, secDir    int // offsets of the CheckSum field and of data directory 4
	hasSecDir           bool
	sizeOfHeaders       int
	sectionTable, nsect int
}

func edk2PE(img []byte) (peInfo, bool) {
	le := binary.LittleEndian
	var p peInfo
	if len(img) < 0x40 {
		return p, false
	}
	peOff := 0
	if img[0] == 'M' && img[1] == 'Z' {
		peOff = int(le.Uint32(img[0x3c:]))
	}
	if peOff+24+112+16*8 > len(img) || string(img[peOff:peOff+4]) != "PE\x00\x00" {
		return p, false
	}
	coff := peOff + 4
	p.nsect = int(le.Uint16(img[coff+2:]))
	opt := coff + 20
	p.sectionTable = opt + int(le.Uint16(img[coff+16:]))
	p.checkSum = opt + 64
	p.sizeOfHeaders = int(le.Uint32(img[opt+60:]))
	var nrva uint32
	switch le.Uint16(img[opt:]) {
	case 0x10b:
		nrva, p.secDir = le.Uint32(img[opt+92:]), opt+96+4*8
	case 0x20b:
		nrva, p.secDir = le.Uint32(img[opt+108:]), opt+112+4*8
	default:
		return p, false
	}
	p.hasSecDir = nrva > 4
	if p.sizeOfHeaders > len(img) || p.sectionTable+40*p.nsect > len(img) {
		return p, false
	}
	return p, true
}

// hashPeImage is HashPeImage: the Authenticode digest, with the extra
// data after the sections taken as everything but the last
// SecDataDir.Size bytes of the file.
func hashPeImage(img []byte, p peInfo, alg crypto.Hash) ([]byte, bool) {
	le := binary.LittleEndian
	h := alg.New()
	h.Write(img[:p.checkSum])
	if !p.hasSecDir {
		h.Write(img[p.checkSum+4 : p.sizeOfHeaders])
	} else {
		h.Write(img[p.checkSum+4 : p.secDir])
		h.Write(img[p.secDir+8 : p.sizeOfHeaders])
	}
	sum := p.sizeOfHeaders
	type section struct{ ptr, size int }
	var secs []section
	for i := range p.nsect {
		sh := p.sectionTable + 40*i
		secs = append(secs, section{int(le.Uint32(img[sh+20:])), int(le.Uint32(img[sh+16:]))})
	}
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].ptr < secs[j].ptr })
	for _, s := range secs {
		if s.size == 0 {
			continue
		}
		if s.ptr+s.size > len(img) {
			return nil, false
		}
		h.Write(img[s.ptr : s.ptr+s.size])
		sum += s.size
	}
	if len(img) > sum {
		certSize := 0
		if p.hasSecDir {
			certSize = int(le.Uint32(img[p.secDir+4:]))
		}
		switch {
		case len(img) > certSize+sum:
			h.Write(img[sum : len(img)-certSize])
		case len(img) < certSize+sum:
			return nil, false
		}
	}
	return h.Sum(nil), true
}

// verify is DxeImageVerificationHandler with Secure Boot on and the
// DENY_EXECUTE policy: true when the image may run.
func (e *edk2) verify(img []byte, db, dbx trustList) bool {
	le := binary.LittleEndian
	p, ok := edk2PE(img)
	if !ok {
		e.logf("not a PE image EDK2 can read")
		return false
	}
	var va, size int
	if p.hasSecDir {
		va, size = int(le.Uint32(img[p.secDir:])), int(le.Uint32(img[p.secDir+4:]))
	}
	if size == 0 {
		// Unsigned: every digest algorithm, dbx then db.
		found := false
		for _, h := range edk2HashOIDs {
			d, ok := hashPeImage(img, p, h.alg)
			if !ok {
				continue
			}
			if hasDigest(dbx.images, h.alg, d) {
				e.logf("unsigned, %v digest in dbx", h.alg)
				return false
			}
			found = found || hasDigest(db.images, h.alg, d)
		}
		e.logf("unsigned, digest in db: %v", found)
		return found
	}
	end := va + size
	if va < 0 || end > len(img) || end < va {
		e.logf("certificate table outside the file")
		return false
	}
	verified := false
	off := va
	for n := 1; off < end; n++ {
		left := end - off
		if left <= 8 {
			break
		}
		dwLength := int(le.Uint32(img[off:]))
		typ := le.Uint16(img[off+6:])
		if left < dwLength || left-dwLength < alignSize(dwLength) {
			break
		}
		next := off + dwLength + alignSize(dwLength)
		if typ != 0x0002 {
			// WIN_CERT_TYPE_EFI_GUID entries do not occur in the corpus.
			if dwLength < 8 {
				break
			}
			e.logf("entry %d: type %#x skipped", n, typ)
			off = next
			continue
		}
		if dwLength <= 8 {
			break
		}
		auth := img[off+8 : off+dwLength]
		off = next
		alg, ok := hashPeImageByType(auth)
		if !ok {
			e.logf("entry %d: no digest algorithm at offset 32, skipped", n)
			continue
		}
		digest, ok := hashPeImage(img, p, alg)
		if !ok {
			e.logf("entry %d: HashPeImage fails, skipped", n)
			continue
		}
		if p7, err := parseP7(auth); err == nil && !bytes.HasSuffix(p7.content.Bytes, digest) {
			e.logf("entry %d: the signed digest is not this image's", n)
		}
		if e.forbiddenByDbx(n, auth, digest, dbx) {
			return false
		}
		if !verified && e.allowedByDb(n, auth, digest, db, dbx) {
			verified = true
		}
		if hasDigest(dbx.images, alg, digest) {
			e.logf("entry %d: image %v digest in dbx", n, alg)
			return false
		}
		if !verified && hasDigest(db.images, alg, digest) {
			e.logf("entry %d: image %v digest in db", n, alg)
			verified = true
		}
	}
	if off != end {
		e.logf("certificate table does not end at the last entry")
		return false
	}
	return verified
}

func alignSize(n int) int {
	if n%8 != 0 {
		return 8 - n%8
	}
	return 0
}

func hasDigest(l []digestEntry, alg crypto.Hash, d []byte) bool {
	for _, x := range l {
		if x.alg == alg && bytes.Equal(x.sum, d) {
			return true
		}
	}
	return false
}

// hashPeImageByType reads the digest algorithm where EDK2 expects it:
// at offset 32 of a signature whose outer length takes two bytes.
func hashPeImageByType(auth []byte) (crypto.Hash, bool) {
	if len(auth) > 1 && auth[1]&0x82 != 0x82 {
		return 0, false
	}
	for _, h := range edk2HashOIDs {
		if len(auth) >= 32+len(h.oid) && bytes.Equal(auth[32:32+len(h.oid)], h.oid) {
			return h.alg, true
		}
	}
	return 0, false
}

// forbiddenByDbx is IsForbiddenByDbx.
func (e *edk2) forbiddenByDbx(n int, auth, digest []byte, dbx trustList) bool {
	for i, c := range dbx.certs {
		if e.authenticodeVerify(auth, c, digest) {
			e.logf("entry %d: verifies with dbx certificate %d as trust anchor: forbidden", n, i+1)
			return true
		}
	}
	signers, err := e.pkcs7GetSigners(auth)
	if err != nil {
		e.logf("entry %d: Pkcs7GetSigners fails (%v): forbidden", n, err)
		return true
	}
	for _, s := range signers {
		if found, err := certHashInDbx(s, dbx); err != nil || found {
			e.logf("entry %d: signer's TBS hash in dbx (or unreadable: %v): forbidden", n, err)
			return true
		}
	}
	return false
}

// allowedByDb is IsAllowedByDb: the first db certificate that verifies
// decides, and its own TBS hash must not be in dbx.
func (e *edk2) allowedByDb(n int, auth, digest []byte, db, dbx trustList) bool {
	for i, c := range db.certs {
		if !e.authenticodeVerify(auth, c, digest) {
			continue
		}
		found, err := certHashInDbx(c, dbx)
		if err != nil || found {
			e.logf("entry %d: verifies with db certificate %d, whose TBS hash is in dbx", n, i+1)
			return false
		}
		e.logf("entry %d: verifies with db certificate %d", n, i+1)
		return true
	}
	e.logf("entry %d: verifies with no db certificate", n)
	return false
}

// certHashInDbx is IsCertHashFoundInDbx.
func certHashInDbx(cert []byte, dbx trustList) (bool, error) {
	tbs, err := tbsOf(cert)
	if err != nil {
		return false, err
	}
	for _, x := range dbx.tbs {
		h := x.alg.New()
		h.Write(tbs)
		if bytes.Equal(h.Sum(nil), x.sum) {
			return true, nil
		}
	}
	return false, nil
}

// tbsOf is X509GetTBSCert: the first element of the Certificate SEQUENCE.
func tbsOf(cert []byte) ([]byte, error) {
	var outer, tbs asn1.RawValue
	if _, err := asn1.Unmarshal(cert, &outer); err != nil {
		return nil, err
	}
	if _, err := asn1.Unmarshal(outer.Bytes, &tbs); err != nil {
		return nil, err
	}
	return tbs.FullBytes, nil
}

// p7 is the part of a PKCS#7 SignedData the emulation reads itself.
type p7 struct {
	contentType asn1.ObjectIdentifier
	content     asn1.RawValue // the content, e.g. SpcIndirectDataContent
	certs       [][]byte
	sidIssuer   []byte // the first SignerInfo's issuerAndSerialNumber
	sidSerial   []byte
}

func children(v asn1.RawValue) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for rest := v.Bytes; len(rest) > 0; {
		var c asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseP7(der []byte) (*p7, error) {
	var ci asn1.RawValue
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, err
	}
	ciParts, err := children(ci)
	if err != nil || len(ciParts) != 2 {
		return nil, errors.New("ContentInfo")
	}
	var sd asn1.RawValue
	if _, err := asn1.Unmarshal(ciParts[1].Bytes, &sd); err != nil {
		return nil, err
	}
	sdParts, err := children(sd)
	if err != nil || len(sdParts) < 4 {
		return nil, errors.New("SignedData")
	}
	encap, err := children(sdParts[2])
	if err != nil || len(encap) != 2 {
		return nil, errors.New("no content (detached)")
	}
	out := &p7{}
	if _, err := asn1.Unmarshal(encap[0].FullBytes, &out.contentType); err != nil {
		return nil, err
	}
	if _, err := asn1.Unmarshal(encap[1].Bytes, &out.content); err != nil {
		return nil, err
	}
	for _, f := range sdParts[3 : len(sdParts)-1] {
		if f.Class == asn1.ClassContextSpecific && f.Tag == 0 {
			certs, err := children(f)
			if err != nil {
				return nil, err
			}
			for _, c := range certs {
				out.certs = append(out.certs, c.FullBytes)
			}
		}
	}
	sis, err := children(sdParts[len(sdParts)-1])
	if err != nil || len(sis) == 0 {
		return nil, errors.New("no SignerInfo")
	}
	si, err := children(sis[0])
	if err != nil || len(si) < 2 {
		return nil, errors.New("SignerInfo")
	}
	ias, err := children(si[1])
	if err != nil || len(ias) != 2 {
		return nil, errors.New("issuerAndSerialNumber")
	}
	out.sidIssuer, out.sidSerial = ias[0].FullBytes, ias[1].FullBytes
	return out, nil
}

// certIssuerSerial reads a certificate's issuer and serial number.
func certIssuerSerial(cert []byte) (issuer, serial []byte, err error) {
	tbsDER, err := tbsOf(cert)
	if err != nil {
		return nil, nil, err
	}
	var tbs asn1.RawValue
	asn1.Unmarshal(tbsDER, &tbs)
	f, err := children(tbs)
	if err != nil {
		return nil, nil, err
	}
	if len(f) > 0 && f[0].Class == asn1.ClassContextSpecific { // [0] version
		f = f[1:]
	}
	if len(f) < 3 {
		return nil, nil, errors.New("short TBSCertificate")
	}
	return f[2].FullBytes, f[0].FullBytes, nil
}

// opensslParses is d2i_PKCS7 and PKCS7_type_is_signed.
func (e *edk2) opensslParses(auth []byte) bool {
	if ok, done := e.parses[string(auth)]; done {
		return ok
	}
	out, err := exec.Command(e.openssl, "pkcs7", "-inform", "DER", "-in", e.file(auth), "-noout").CombinedOutput()
	if err != nil {
		e.logf("openssl cannot parse the PKCS#7: %s", oneLine(out))
	}
	if e.parses == nil {
		e.parses = map[string]bool{}
	}
	e.parses[string(auth)] = err == nil
	return err == nil
}

// pkcs7GetSigners is Pkcs7GetSigners: OpenSSL must parse the signature,
// and PKCS7_get0_signers must find the signer among its certificates.
func (e *edk2) pkcs7GetSigners(auth []byte) ([][]byte, error) {
	if !e.opensslParses(auth) {
		return nil, errors.New("d2i_PKCS7 fails")
	}
	p, err := parseP7(auth)
	if err != nil {
		return nil, err
	}
	for _, c := range p.certs {
		issuer, serial, err := certIssuerSerial(c)
		if err == nil && bytes.Equal(issuer, p.sidIssuer) && bytes.Equal(serial, p.sidSerial) {
			return [][]byte{c}, nil
		}
	}
	return nil, errors.New("signer certificate not in the signature")
}

var oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}

// authenticodeVerify is AuthenticodeVerify with trusted as the only
// trusted certificate: the image digest must end the
// SpcIndirectDataContent, then PKCS7_verify over that content.
func (e *edk2) authenticodeVerify(auth, trusted, digest []byte) bool {
	p, err := parseP7(auth)
	if err != nil || !p.contentType.Equal(oidSpcIndirectData) {
		return false
	}
	content := p.content.Bytes // EDK2 skips the SEQUENCE header
	if len(content) < len(digest) || !bytes.Equal(content[len(content)-len(digest):], digest) {
		return false
	}
	if !e.opensslParses(auth) {
		return false
	}
	anchor := e.file(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: trusted}))
	cmd := exec.Command(e.openssl, "smime", "-verify", "-binary", "-inform", "DER",
		"-in", e.file(auth), "-content", e.file(content),
		"-CAfile", anchor, "-no-CApath", "-no-CAstore",
		"-partial_chain", "-no_check_time", "-purpose", "any", "-out", os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.logf("PKCS7_verify: %s", oneLine(out))
	}
	return err == nil
}

// oneLine shortens a tool's output for a log line.
func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
