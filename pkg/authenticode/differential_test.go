package authenticode_test

// The differential test of issue 9: a corpus of images with their db and
// dbx goes through ukiboot's verifier, sbverify, osslsigncode and an
// emulation of EDK2's DxeImageVerificationLib (its own control flow in Go,
// OpenSSL's PKCS7_verify through the openssl CLI, as EDK2 calls it). Every
// verdict is pinned in diffTable; every case where another verifier
// disagrees with ukiboot carries a reason, and those rows are the README's
// table "Where ukiboot and other verifiers disagree".

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// trustList is one side (db or dbx) of a case's trust store.
type trustList struct {
	certs  [][]byte      // EFI_CERT_X509, in order
	images []digestEntry // EFI_CERT_SHA256/384/512: image digests
	tbs    []digestEntry // EFI_CERT_X509_SHA256/384/512: TBSCertificate digests
}

type digestEntry struct {
	alg crypto.Hash
	sum []byte
}

// diffCase is one image of the corpus and the verdict ukiboot must reach
// by the rules in the README's "Secure boot without UEFI".
type diffCase struct {
	name    string
	img     []byte
	db, dbx trustList
	want    authenticode.Status
}

// verdict is another verifier's answer.
type verdict string

const (
	accepts verdict = "accepts"
	refuses verdict = "refuses"
)

// Reason labels for a disagreement.
const (
	labelEDK2     = "EDK2 refuses"     // ukiboot refuses, and so does EDK2's logic
	labelStricter = "ukiboot stricter" // ukiboot refuses, EDK2's logic accepts
	labelTool     = "tool limitation"  // ukiboot accepts (as EDK2 does), a tool refuses
)

// diffRow pins what EDK2's logic, sbverify and osslsigncode say about a
// case. reason is "label: why" when any of them disagrees with ukiboot,
// and empty otherwise.
type diffRow struct {
	name                 string
	edk2, sbverify, ossl verdict
	reason               string
}

// diffTable is the recorded outcome of the differential run. A change in
// any verifier's answer fails the test until this table (and the README
// table made from it) says why.
func diffTable() []diffRow {
	a, r := accepts, refuses
	const (
		noDbx      = "; sbverify and osslsigncode know no dbx"
		sbNoDbx    = "; sbverify knows no dbx"
		oneEntry   = "osslsigncode reads only a certificate table of one entry (it nests more signatures inside it)"
		selfSigned = "osslsigncode needs a chain to a self-signed root; EDK2 (PARTIAL_CHAIN) and ukiboot anchor at any db certificate"
		noHashes   = "sbverify and osslsigncode need a signature and a certificate: they do not read image digests in db"
	)
	return []diffRow{
		{"RSA signer, CA in db", a, a, a, ""},
		{"ECDSA signer, CA in db", a, a, a, ""},
		{"SHA-384 digest", a, r, a, labelTool + ": sbverify computes only SHA-256 image digests (`Invalid algorithm type`)"},
		{"SHA-512 digest", a, r, a, labelTool + ": sbverify computes only SHA-256 image digests (`Invalid algorithm type`)"},
		{"signer itself in db", a, a, r, labelTool + ": " + selfSigned},
		{"intermediate carried in the signature", a, a, a, ""},
		{"intermediate in db, root absent", a, a, r, labelTool + ": " + selfSigned},
		{"intermediate missing", r, r, r, ""},
		{"unknown signer", r, r, r, ""},
		{"good + unknown signatures", a, a, r, labelTool + ": " + oneEntry},
		{"unknown + good signatures", a, a, r, labelTool + ": " + oneEntry},
		{"revoked + good signatures", r, a, r, labelEDK2 + ": dbx is checked for every signature before db, and one revoked signature denies the image" + sbNoDbx},
		{"good + revoked signatures", r, a, r, labelEDK2 + ": dbx is checked for every signature before db, and one revoked signature denies the image" + sbNoDbx},
		{"unsigned", r, r, r, ""},
		{"unsigned, image digest in db", a, r, r, labelTool + ": " + noHashes},
		{"unknown signer, image digest in db", a, r, r, labelTool + ": " + noHashes},
		{"image digest in db, signer in dbx", r, r, r, ""},
		{"image SHA-256 digest in dbx", r, a, a, labelEDK2 + ": the image digest is in dbx" + noDbx},
		{"image SHA-384 digest in dbx, SHA-256 signature", a, a, a, labelStricter + ": EDK2 looks up dbx only with the digest algorithm of the signature at hand; ukiboot computes the image digest of every algorithm dbx holds one of and refuses any of them in dbx"},
		{"signer in dbx", r, a, a, labelEDK2 + ": the signature verifies with the dbx certificate as trust anchor" + noDbx},
		{"signer in dbx, carried with a trailing element", r, r, r, ""},
		{"signer in dbx, carried with an unused signature bit", r, r, r, ""},
		{"signer in dbx, carried with ECDSA (r, n-s)", a, a, a, labelStricter + ": EDK2 matches a dbx leaf by its exact bytes, and (r, n-s) is another valid signature over the same TBSCertificate, made without any key; ukiboot matches the TBSCertificate and the key" + noDbx},
		{"signer re-issued in dbx (same subject and key)", a, a, a, labelStricter + ": EDK2 matches a dbx leaf by its exact bytes; ukiboot also by its public key, so a renewed certificate revokes the old one" + noDbx},
		{"CA in dbx", r, a, a, labelEDK2 + ": revocation by chaining, the signature verifies with the dbx CA as trust anchor" + noDbx},
		{"CA re-issued in dbx (same subject and key)", r, a, a, labelEDK2 + ": revocation by chaining, the renewed CA has the name and key that verify the signer" + noDbx},
		{"intermediate in dbx", r, a, a, labelEDK2 + ": revocation by chaining through the intermediate" + noDbx},
		{"intermediate re-issued in dbx (same subject and key)", r, a, a, labelEDK2 + ": revocation by chaining, the renewed intermediate has the name and key that verify the signer" + noDbx},
		{"root in dbx, intermediate in db and carried", r, a, r, labelEDK2 + ": revocation by chaining through the carried intermediate" + sbNoDbx},
		{"root in dbx, intermediate in db, not carried", a, a, r, labelStricter + ": EDK2 chains to dbx only through the signature's certificates, so the db intermediate's revoked issuer is not found; ukiboot checks the db anchor's issuer too" + sbNoDbx},
		{"dbx certificate with the CA's name and another key", a, a, a, ""},
		{"TBS SHA-256 of signer in dbx", r, a, a, labelEDK2 + ": IsCertHashFoundInDbx finds the signer's TBSCertificate hash" + noDbx},
		{"TBS SHA-384 of signer in dbx", r, a, a, labelEDK2 + ": IsCertHashFoundInDbx finds the signer's TBSCertificate hash" + noDbx},
		{"TBS SHA-384 of intermediate in dbx", a, a, a, labelStricter + ": EDK2 hashes only the signer's certificate and the db certificate that verified, not the intermediates; ukiboot hashes every certificate of the path" + noDbx},
		{"TBS SHA-512 of db CA in dbx", r, a, a, labelEDK2 + ": IsAllowedByDb finds the TBSCertificate hash of the db certificate that verified" + noDbx},
		{"v1 intermediate", r, r, r, ""},
		{"v1 self-signed root in db", a, a, a, ""},
		{"pathLenConstraint 0 CA above an intermediate", r, r, r, ""},
		{"pathLenConstraint 0 CA issuing the signer", a, a, a, ""},
		{"unknown critical extension on signer", r, r, r, ""},
		{"unknown critical extension on intermediate", r, r, r, ""},
		{"unknown critical extension on db anchor", r, r, r, ""},
		{"db anchor not a CA", r, r, r, ""},
		{"intermediate without keyCertSign", r, r, r, ""},
		{"expired signer", a, a, r, labelTool + ": osslsigncode checks validity dates; UEFI has no trusted clock and ignores them (EDK2 sets NO_CHECK_TIME, sbverify ignores expiry)"},
		{".linux changed after signing", r, r, r, ""},
		{"header changed after signing", r, r, r, ""},
		{"CheckSum changed (not covered by the digest)", a, a, a, ""},
		{"data appended after the certificate table", r, r, r, ""},
		{"data appended inside the certificate table", r, a, r, labelEDK2 + ": the certificate table does not end where its last entry ends; sbverify accepts once one entry verifies"},
		{"signature transplanted from another image", r, r, r, ""},
		{"garbage certificate-table entry", r, r, r, ""},
		{"garbage entry + good signature", a, r, r, labelStricter + ": EDK2 skips an entry in which it finds no digest algorithm and trusts the next; ukiboot refuses an entry it cannot check (it could be a revoked signature)"},
		{"non-PKCS#7 WIN_CERTIFICATE", r, r, r, ""},
		{"non-PKCS#7 WIN_CERTIFICATE + good signature", a, r, r, labelStricter + ": EDK2 skips WIN_CERTIFICATE types other than PKCS#7 and trusts the next entry; ukiboot refuses an entry it cannot check (it could be a revoked signature)"},
		{"33 certificates in the signature", a, a, a, labelStricter + ": work bound, at most 32 certificates a signature; EDK2, sbverify and osslsigncode have none"},
		{"nine good signatures", a, a, r, labelStricter + ": work bound, at most 8 signatures an image; EDK2 and sbverify have none"},
	}
}

// corpusKeys are the identities the corpus signs with. RSA only where RSA
// is the point (key generation is the slow part); P-256 elsewhere.
type corpusKeys struct {
	rsaCA, rsaLeaf                   *ukitest.Key
	ecCA, ecLeaf, revLeaf, expired   *ukitest.Key
	other, otherLeaf, sameNameCA     *ukitest.Key
	root, inter, iLeaf               *ukitest.Key
	v1Inter, v1Leaf, v1Root, v1RLeaf *ukitest.Key
	pl0Root, pl0Inter, pl0Leaf       *ukitest.Key
	pl0Direct                        *ukitest.Key
	critLeaf, critInter, critILeaf   *ukitest.Key
	critRoot, critRLeaf              *ukitest.Key
	notCA, notCALeaf                 *ukitest.Key
	noKCSInter, noKCSLeaf            *ukitest.Key
}

func newCorpusKeys(t *testing.T) corpusKeys {
	ec := func(name string, parent *ukitest.Key, ca bool) *ukitest.Key {
		return ukitest.NewCert(t, ukitest.CertSpec{Name: name, Parent: parent, IsCA: ca})
	}
	var k corpusKeys
	k.rsaCA = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus RSA CA", RSA: true, IsCA: true})
	k.rsaLeaf = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus RSA signer", RSA: true, Parent: k.rsaCA})
	k.ecCA = ec("Corpus EC CA", nil, true)
	k.ecLeaf = ec("Corpus EC signer", k.ecCA, false)
	k.revLeaf = ec("Corpus revoked signer", k.ecCA, false)
	k.expired = ukitest.NewExpiredLeaf(t, "Corpus expired signer", k.ecCA)
	k.other = ec("Unknown CA", nil, true)
	k.otherLeaf = ec("Unknown signer", k.other, false)
	k.sameNameCA = ec("Corpus EC CA", nil, true) // ecCA's name, another key
	k.root = ec("Corpus root", nil, true)
	k.inter = ec("Corpus intermediate", k.root, true)
	k.iLeaf = ec("Corpus signer below the intermediate", k.inter, false)
	k.v1Inter = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus v1 intermediate", Parent: k.root, V1: true})
	k.v1Leaf = ec("Corpus signer below the v1 intermediate", k.v1Inter, false)
	k.v1Root = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus v1 root", V1: true})
	k.v1RLeaf = ec("Corpus signer below the v1 root", k.v1Root, false)
	zero := 0
	k.pl0Root = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus pathlen 0 root", IsCA: true, PathLen: &zero})
	k.pl0Inter = ec("Corpus intermediate below pathlen 0", k.pl0Root, true)
	k.pl0Leaf = ec("Corpus signer below pathlen 0 and an intermediate", k.pl0Inter, false)
	k.pl0Direct = ec("Corpus signer right below pathlen 0", k.pl0Root, false)
	unknownExt := ukitest.OIDUnknown
	k.critLeaf = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus signer with a critical extension", Parent: k.ecCA, CriticalOID: unknownExt})
	k.critInter = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus intermediate with a critical extension", Parent: k.root, IsCA: true, CriticalOID: unknownExt})
	k.critILeaf = ec("Corpus signer below the critical intermediate", k.critInter, false)
	k.critRoot = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus root with a critical extension", IsCA: true, CriticalOID: unknownExt})
	k.critRLeaf = ec("Corpus signer below the critical root", k.critRoot, false)
	k.notCA = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus anchor that is no CA", KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign})
	k.notCALeaf = ec("Corpus signer below a non-CA", k.notCA, false)
	k.noKCSInter = ukitest.NewCert(t, ukitest.CertSpec{Name: "Corpus intermediate without keyCertSign", Parent: k.root, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	k.noKCSLeaf = ec("Corpus signer below the keyCertSign-less intermediate", k.noKCSInter, false)
	return k
}

func corpusUKI(initrd string) []byte {
	return ukitest.PadTo8(ukitest.UKI(
		ukitest.S(".osrel", "ID=corpus\n"),
		ukitest.S(".cmdline", "console=ttyS0 quiet"),
		ukitest.B(".linux", bytes.Repeat([]byte("LINUX"), 1200)),
		ukitest.S(".initrd", initrd),
	))
}

func tbsDigest(c *x509.Certificate, alg crypto.Hash) digestEntry {
	h := alg.New()
	h.Write(c.RawTBSCertificate)
	return digestEntry{alg, h.Sum(nil)}
}

func certs(ks ...*ukitest.Key) [][]byte {
	var out [][]byte
	for _, k := range ks {
		out = append(out, k.Cert.Raw)
	}
	return out
}

// buildCorpus makes the images. Structure is fixed; keys are fresh.
func buildCorpus(t *testing.T) []diffCase {
	k := newCorpusKeys(t)
	base := corpusUKI("INITRD")
	digest := func(img []byte, alg crypto.Hash) []byte {
		d, err := authenticode.ImageDigest(img, alg)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	p7 := func(alg crypto.Hash, signer *ukitest.Key, extra ...*ukitest.Key) []byte {
		var ex []*x509.Certificate
		for _, e := range extra {
			ex = append(ex, e.Cert)
		}
		return ukitest.PKCS7(digest(base, alg), alg, signer, ex...)
	}
	sig := func(signer *ukitest.Key, extra ...*ukitest.Key) []byte { return p7(crypto.SHA256, signer, extra...) }
	signed := func(sigs ...[]byte) []byte { return ukitest.AttachSignatures(base, sigs...) }
	db := func(ks ...*ukitest.Key) trustList { return trustList{certs: certs(ks...)} }
	good := signed(sig(k.ecLeaf))
	patch := func(img []byte, off int, b byte) []byte {
		out := bytes.Clone(img)
		out[off] ^= b
		return out
	}
	f := parse(t, good)
	linuxOff := int(f.Section(".linux").PointerToRawData)
	const timeDateStamp = 0x80 + 8      // COFF header: covered by the digest
	const checkSum = 0x80 + 4 + 20 + 64 // optional header: not covered
	// sig signs base: on another image it is a transplant.
	transplanted := ukitest.AttachSignatures(corpusUKI("OTHER!"), sig(k.ecLeaf))
	insideTable := func() []byte {
		out := append(bytes.Clone(good), bytes.Repeat([]byte{0xa5}, 16)...)
		dir := 0x80 + 4 + 20 + 112 + 4*8
		size := binary.LittleEndian.Uint32(out[dir+4:])
		binary.LittleEndian.PutUint32(out[dir+4:], size+16)
		return out
	}()
	garbage := bytes.Repeat([]byte("not DER!"), 8)
	var many []*ukitest.Key
	for range 32 {
		many = append(many, k.other)
	}
	var nine [][]byte
	for range 9 {
		nine = append(nine, sig(k.ecLeaf))
	}
	baseDigest := digest(base, crypto.SHA256)

	return []diffCase{
		{name: "RSA signer, CA in db", img: signed(sig(k.rsaLeaf)), db: db(k.rsaCA), want: authenticode.Trusted},
		{name: "ECDSA signer, CA in db", img: good, db: db(k.ecCA), want: authenticode.Trusted},
		{name: "SHA-384 digest", img: signed(p7(crypto.SHA384, k.ecLeaf)), db: db(k.ecCA), want: authenticode.Trusted},
		{name: "SHA-512 digest", img: signed(p7(crypto.SHA512, k.rsaLeaf)), db: db(k.rsaCA), want: authenticode.Trusted},
		{name: "signer itself in db", img: good, db: db(k.ecLeaf), want: authenticode.Trusted},
		{name: "intermediate carried in the signature", img: signed(sig(k.iLeaf, k.inter)), db: db(k.root), want: authenticode.Trusted},
		{name: "intermediate in db, root absent", img: signed(sig(k.iLeaf, k.inter)), db: db(k.inter), want: authenticode.Trusted},
		{name: "intermediate missing", img: signed(sig(k.iLeaf)), db: db(k.root), want: authenticode.Untrusted},
		{name: "unknown signer", img: signed(sig(k.otherLeaf)), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "good + unknown signatures", img: signed(sig(k.ecLeaf), sig(k.otherLeaf)), db: db(k.ecCA), want: authenticode.Trusted},
		{name: "unknown + good signatures", img: signed(sig(k.otherLeaf), sig(k.ecLeaf)), db: db(k.ecCA), want: authenticode.Trusted},
		{name: "revoked + good signatures", img: signed(sig(k.revLeaf), sig(k.ecLeaf)), db: db(k.ecCA), dbx: db(k.revLeaf), want: authenticode.Untrusted},
		{name: "good + revoked signatures", img: signed(sig(k.ecLeaf), sig(k.revLeaf)), db: db(k.ecCA), dbx: db(k.revLeaf), want: authenticode.Untrusted},
		{name: "unsigned", img: base, db: db(k.ecCA), want: authenticode.Unsigned},
		{name: "unsigned, image digest in db", img: base, db: trustList{images: []digestEntry{{crypto.SHA256, baseDigest}}}, want: authenticode.Trusted},
		{name: "unknown signer, image digest in db", img: signed(sig(k.otherLeaf)), db: trustList{images: []digestEntry{{crypto.SHA256, baseDigest}}}, want: authenticode.Trusted},
		{name: "image digest in db, signer in dbx", img: signed(sig(k.revLeaf)), db: trustList{images: []digestEntry{{crypto.SHA256, baseDigest}}}, dbx: db(k.revLeaf), want: authenticode.Untrusted},
		{name: "image SHA-256 digest in dbx", img: good, db: db(k.ecCA), dbx: trustList{images: []digestEntry{{crypto.SHA256, baseDigest}}}, want: authenticode.Untrusted},
		{name: "image SHA-384 digest in dbx, SHA-256 signature", img: good, db: db(k.ecCA), dbx: trustList{images: []digestEntry{{crypto.SHA384, digest(base, crypto.SHA384)}}}, want: authenticode.Untrusted},
		{name: "signer in dbx", img: good, db: db(k.ecCA), dbx: db(k.ecLeaf), want: authenticode.Untrusted},
		{name: "signer in dbx, carried with a trailing element", img: signed(sig(ukitest.Mangle(t, k.ecLeaf, ukitest.TrailingElement))), db: db(k.ecCA), dbx: db(k.ecLeaf), want: authenticode.Untrusted},
		{name: "signer in dbx, carried with an unused signature bit", img: signed(sig(ukitest.Mangle(t, k.ecLeaf, ukitest.UnusedBits))), db: db(k.ecCA), dbx: db(k.ecLeaf), want: authenticode.Untrusted},
		{name: "signer in dbx, carried with ECDSA (r, n-s)", img: signed(sig(ukitest.Mangle(t, k.ecLeaf, ukitest.HighS))), db: db(k.ecCA), dbx: db(k.ecLeaf), want: authenticode.Untrusted},
		{name: "signer re-issued in dbx (same subject and key)", img: good, db: db(k.ecCA), dbx: db(ukitest.Reissue(t, k.ecLeaf, k.ecCA)), want: authenticode.Untrusted},
		{name: "CA in dbx", img: good, db: db(k.ecCA), dbx: db(k.ecCA), want: authenticode.Untrusted},
		{name: "CA re-issued in dbx (same subject and key)", img: good, db: db(k.ecCA), dbx: db(ukitest.Reissue(t, k.ecCA, k.ecCA)), want: authenticode.Untrusted},
		{name: "intermediate in dbx", img: signed(sig(k.iLeaf, k.inter)), db: db(k.root), dbx: db(k.inter), want: authenticode.Untrusted},
		{name: "intermediate re-issued in dbx (same subject and key)", img: signed(sig(k.iLeaf, k.inter)), db: db(k.root), dbx: db(ukitest.Reissue(t, k.inter, k.root)), want: authenticode.Untrusted},
		{name: "root in dbx, intermediate in db and carried", img: signed(sig(k.iLeaf, k.inter)), db: db(k.inter), dbx: db(k.root), want: authenticode.Untrusted},
		{name: "root in dbx, intermediate in db, not carried", img: signed(sig(k.iLeaf)), db: db(k.inter), dbx: db(k.root), want: authenticode.Untrusted},
		{name: "dbx certificate with the CA's name and another key", img: good, db: db(k.ecCA), dbx: db(k.sameNameCA), want: authenticode.Trusted},
		{name: "TBS SHA-256 of signer in dbx", img: good, db: db(k.ecCA), dbx: trustList{tbs: []digestEntry{tbsDigest(k.ecLeaf.Cert, crypto.SHA256)}}, want: authenticode.Untrusted},
		{name: "TBS SHA-384 of signer in dbx", img: good, db: db(k.ecCA), dbx: trustList{tbs: []digestEntry{tbsDigest(k.ecLeaf.Cert, crypto.SHA384)}}, want: authenticode.Untrusted},
		{name: "TBS SHA-384 of intermediate in dbx", img: signed(sig(k.iLeaf, k.inter)), db: db(k.root), dbx: trustList{tbs: []digestEntry{tbsDigest(k.inter.Cert, crypto.SHA384)}}, want: authenticode.Untrusted},
		{name: "TBS SHA-512 of db CA in dbx", img: good, db: db(k.ecCA), dbx: trustList{tbs: []digestEntry{tbsDigest(k.ecCA.Cert, crypto.SHA512)}}, want: authenticode.Untrusted},
		{name: "v1 intermediate", img: signed(sig(k.v1Leaf, k.v1Inter)), db: db(k.root), want: authenticode.Untrusted},
		{name: "v1 self-signed root in db", img: signed(sig(k.v1RLeaf)), db: db(k.v1Root), want: authenticode.Trusted},
		{name: "pathLenConstraint 0 CA above an intermediate", img: signed(sig(k.pl0Leaf, k.pl0Inter)), db: db(k.pl0Root), want: authenticode.Untrusted},
		{name: "pathLenConstraint 0 CA issuing the signer", img: signed(sig(k.pl0Direct)), db: db(k.pl0Root), want: authenticode.Trusted},
		{name: "unknown critical extension on signer", img: signed(sig(k.critLeaf)), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "unknown critical extension on intermediate", img: signed(sig(k.critILeaf, k.critInter)), db: db(k.root), want: authenticode.Untrusted},
		{name: "unknown critical extension on db anchor", img: signed(sig(k.critRLeaf)), db: db(k.critRoot), want: authenticode.Untrusted},
		{name: "db anchor not a CA", img: signed(sig(k.notCALeaf)), db: db(k.notCA), want: authenticode.Untrusted},
		{name: "intermediate without keyCertSign", img: signed(sig(k.noKCSLeaf, k.noKCSInter)), db: db(k.root), want: authenticode.Untrusted},
		{name: "expired signer", img: signed(sig(k.expired)), db: db(k.ecCA), want: authenticode.Trusted},
		{name: ".linux changed after signing", img: patch(good, linuxOff+100, 0x80), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "header changed after signing", img: patch(good, timeDateStamp, 1), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "CheckSum changed (not covered by the digest)", img: patch(good, checkSum, 0x5a), db: db(k.ecCA), want: authenticode.Trusted},
		{name: "data appended after the certificate table", img: append(bytes.Clone(good), "appended"...), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "data appended inside the certificate table", img: insideTable, db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "signature transplanted from another image", img: transplanted, db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "garbage certificate-table entry", img: signed(garbage), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "garbage entry + good signature", img: signed(garbage, sig(k.ecLeaf)), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "non-PKCS#7 WIN_CERTIFICATE", img: ukitest.AttachWinCerts(base, ukitest.WinCert(0x0001, sig(k.ecLeaf))), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "non-PKCS#7 WIN_CERTIFICATE + good signature", img: ukitest.AttachWinCerts(base, ukitest.WinCert(0x0001, sig(k.ecLeaf)), ukitest.WinCert(0x0002, sig(k.ecLeaf))), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "33 certificates in the signature", img: signed(sig(k.ecLeaf, many...)), db: db(k.ecCA), want: authenticode.Untrusted},
		{name: "nine good signatures", img: signed(nine...), db: db(k.ecCA), want: authenticode.Untrusted},
	}
}

// EFI signature types.
const (
	guidX509       = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
	guidSHA256     = "c1c41626-504c-4092-aca9-41f936934328"
	guidSHA384     = "ff3e5307-9fd0-48c9-85f1-8ad56c701e01"
	guidSHA512     = "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a"
	guidX509SHA256 = "3bd2a492-96c0-4079-b420-fcf98ef103ed"
	guidX509SHA384 = "7076876e-80c2-4ee6-aad2-28b349a6865b"
	guidX509SHA512 = "446dbf63-2502-4cda-bcfa-2465d2b0fe9d"
)

// esl encodes a trust list as EFI_SIGNATURE_LISTs, as a db or dbx
// variable holds it.
func (l trustList) esl() []byte {
	var b []byte
	for _, c := range l.certs {
		b = append(b, ukitest.SignatureList(authenticode.GUIDBytes(guidX509), c)...)
	}
	images := map[crypto.Hash]string{crypto.SHA256: guidSHA256, crypto.SHA384: guidSHA384, crypto.SHA512: guidSHA512}
	for _, d := range l.images {
		b = append(b, ukitest.SignatureList(authenticode.GUIDBytes(images[d.alg]), d.sum)...)
	}
	tbs := map[crypto.Hash]string{crypto.SHA256: guidX509SHA256, crypto.SHA384: guidX509SHA384, crypto.SHA512: guidX509SHA512}
	for _, d := range l.tbs {
		// The hash, then a zero EFI_TIME: revoked since forever.
		entry := append(bytes.Clone(d.sum), make([]byte, 16)...)
		b = append(b, ukitest.SignatureList(authenticode.GUIDBytes(tbs[d.alg]), entry)...)
	}
	return b
}

func (l trustList) empty() bool { return len(l.certs)+len(l.images)+len(l.tbs) == 0 }

// ukibootVerdict verifies the case's image as ukiboot does, with the
// store read from .esl files.
func ukibootVerdict(t *testing.T, c diffCase, dir string) *authenticode.Verdict {
	t.Helper()
	s := authenticode.NewStore()
	for _, side := range []struct {
		name   string
		l      trustList
		forbid bool
	}{{"db.esl", c.db, false}, {"dbx.esl", c.dbx, true}} {
		if side.l.empty() {
			continue
		}
		p := filepath.Join(dir, side.name)
		if err := os.WriteFile(p, side.l.esl(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.AddFile(p, side.forbid); err != nil {
			t.Fatalf("trust store: %v", err)
		}
	}
	f, err := uki.Read(bytes.NewReader(c.img), int64(len(c.img)), "corpus.efi", uki.KindAuto)
	if err != nil {
		return &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
	}
	return authenticode.VerifyFile(f, bytes.NewReader(c.img), s)
}

func pemFile(t *testing.T, path string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runSbverify runs sbverify once per db certificate (it takes one): the
// image passes when one run passes. sbverify knows no dbx and no image
// digests.
func runSbverify(t *testing.T, sbverify, img string, db trustList, dir string) (verdict, string) {
	var log []string
	for i, c := range db.certs {
		cert := pemFile(t, filepath.Join(dir, fmt.Sprintf("sbverify-%d.pem", i)), c)
		out, err := exec.Command(sbverify, "--cert", cert, img).CombinedOutput()
		if err == nil {
			return accepts, fmt.Sprintf("db certificate %d: %s", i+1, oneLine(out))
		}
		log = append(log, fmt.Sprintf("db certificate %d: %s", i+1, oneLine(out)))
	}
	if len(db.certs) == 0 {
		return refuses, "no db certificate to give it"
	}
	return refuses, strings.Join(log, "; ")
}

// runOsslsigncode verifies with every db certificate in -CAfile, without
// CRLs (the corpus has no distribution points; no network either).
// Without db certificates it gets an empty -CAfile.
func runOsslsigncode(t *testing.T, ossl, img string, db trustList, dir string) (verdict, string) {
	ca := pemFile(t, filepath.Join(dir, "osslsigncode-ca.pem"), db.certs...)
	out, err := exec.Command(ossl, "verify", "-in", img, "-CAfile", ca, "-ignore-cdp", "-ignore-crl").CombinedOutput()
	if err != nil {
		return refuses, oneLine(out)
	}
	return accepts, oneLine(out)
}

func accepted(ok bool) verdict {
	if ok {
		return accepts
	}
	return refuses
}

func ukibootAccepts(s authenticode.Status) verdict { return accepted(s == authenticode.Trusted) }

// TestDifferential runs the corpus through every verifier and checks
// each answer against diffTable. The table's own checks (a reason for
// every disagreement, the README's copy) run even without the tools.
func TestDifferential(t *testing.T) {
	start := time.Now()
	cases := buildCorpus(t)
	t.Logf("corpus of %d images built in %v", len(cases), time.Since(start).Round(time.Millisecond))
	rows := diffTable()
	checkTableMatchesCorpus(t, cases, rows)
	byName := map[string]diffRow{}
	for _, r := range rows {
		byName[r.name] = r
	}
	checkReasons(t, cases, byName)
	checkREADME(t, disagreementTable(cases, byName))

	openssl := ukitest.Need(t, "openssl")
	sbverify := ukitest.Need(t, "sbverify")
	ossl := ukitest.Need(t, "osslsigncode")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "image.efi")
			if err := os.WriteFile(img, c.img, 0o644); err != nil {
				t.Fatal(err)
			}
			v := ukibootVerdict(t, c, dir)
			e := &edk2{openssl: openssl, dir: dir}
			ev := accepted(e.verify(c.img, c.db, c.dbx))
			sv, sbLog := runSbverify(t, sbverify, img, c.db, dir)
			ov, osLog := runOsslsigncode(t, ossl, img, c.db, dir)
			t.Logf("ukiboot: %v", v)
			t.Logf("EDK2 logic: %s (%s)", ev, strings.Join(e.trace, "; "))
			t.Logf("sbverify: %s (%s)", sv, sbLog)
			t.Logf("osslsigncode: %s (%s)", ov, osLog)
			if v.Status != c.want {
				t.Errorf("ukiboot: %s, want %s", v, c.want)
			}
			row := byName[c.name]
			for _, o := range []struct {
				tool      string
				got, want verdict
			}{{"EDK2 logic", ev, row.edk2}, {"sbverify", sv, row.sbverify}, {"osslsigncode", ov, row.ossl}} {
				if o.got != o.want {
					t.Errorf("%s %s, diffTable says %s: update the table, its reason and the README", o.tool, o.got, o.want)
				}
			}
		})
	}
	t.Logf("differential run of %d cases took %v", len(cases), time.Since(start).Round(time.Millisecond))
}

func checkTableMatchesCorpus(t *testing.T, cases []diffCase, rows []diffRow) {
	t.Helper()
	if len(cases) != len(rows) {
		t.Errorf("corpus has %d cases, diffTable %d rows", len(cases), len(rows))
	}
	for i := range min(len(cases), len(rows)) {
		if cases[i].name != rows[i].name {
			t.Errorf("case %d is %q in the corpus, %q in diffTable", i, cases[i].name, rows[i].name)
		}
	}
}

// requiredLabel is the label a disagreement must carry, from the
// recorded verdicts; "" when nobody disagrees with ukiboot.
func requiredLabel(want authenticode.Status, r diffRow) (string, error) {
	u := ukibootAccepts(want)
	if r.edk2 == u && r.sbverify == u && r.ossl == u {
		return "", nil
	}
	if u == refuses {
		if r.edk2 == refuses {
			return labelEDK2, nil
		}
		return labelStricter, nil
	}
	if r.edk2 == refuses {
		return "", errors.New("ukiboot accepts an image EDK2's logic refuses")
	}
	return labelTool, nil
}

// checkReasons: every disagreement has a reason with the right label, and
// no row explains a disagreement that does not exist.
func checkReasons(t *testing.T, cases []diffCase, byName map[string]diffRow) {
	t.Helper()
	for _, c := range cases {
		r := byName[c.name]
		label, err := requiredLabel(c.want, r)
		switch {
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case label == "" && r.reason != "":
			t.Errorf("%s: every verifier agrees with ukiboot, but diffTable gives the reason %q", c.name, r.reason)
		case label != "" && !strings.HasPrefix(r.reason, label+": "):
			t.Errorf("%s: the reason must start with %q: %q", c.name, label+": ", r.reason)
		}
	}
}

const readmeHeading = "### Where ukiboot and other verifiers disagree"

// disagreementTable is the README's table: one row per case where another
// verifier's answer differs from ukiboot's.
func disagreementTable(cases []diffCase, byName map[string]diffRow) []string {
	lines := []string{
		"| case | ukiboot | EDK2 logic | sbverify | osslsigncode | reason |",
		"|---|---|---|---|---|---|",
	}
	for _, c := range cases {
		r := byName[c.name]
		if label, _ := requiredLabel(c.want, r); label == "" {
			continue
		}
		lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", c.name, c.want, r.edk2, r.sbverify, r.ossl, r.reason))
	}
	return lines
}

// checkREADME compares the README's table with the test's.
func checkREADME(t *testing.T, want []string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if l != readmeHeading {
			continue
		}
		j := i + 1
		for j < len(lines) && !strings.HasPrefix(lines[j], "|") && !strings.HasPrefix(lines[j], "#") {
			j++
		}
		for ; j < len(lines) && strings.HasPrefix(lines[j], "|"); j++ {
			got = append(got, lines[j])
		}
		break
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("README.md's table under %q differs from the differential test's; it should be:\n%s", readmeHeading, strings.Join(want, "\n"))
	}
}
