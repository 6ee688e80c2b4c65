package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ukiboot/ukiboot/internal/safefile"
	"github.com/ukiboot/ukiboot/pkg/sbat"
)

// GUIDs of the variables that hold the trust store.
const (
	ImageSecurityDatabaseGUID = "d719b2cb-3d3a-4596-a3bc-dad00e67656f" // db, dbx
	ShimLockGUID              = "605dab50-e046-4300-abb6-3dd810dd8b23" // MokListRT, MokListXRT
	GlobalVariableGUID        = "8be4df61-93ca-11d2-aa0d-00e098032b8c" // SecureBoot
)

// MaxTrustFileSize bounds one trust-store file. Real db and dbx
// variables are tens of kilobytes.
const MaxTrustFileSize = 16 << 20

// GUIDBytes encodes a GUID string in EFI (mixed-endian) byte order.
func GUIDBytes(s string) [16]byte { return guid(s) }

// guid encodes a GUID string in EFI (mixed-endian) byte order. s is a
// constant of this package or a test: it panics on a malformed one.
func guid(s string) [16]byte {
	h := strings.ReplaceAll(s, "-", "")
	var raw [16]byte
	if len(h) != 32 {
		panic("authenticode: malformed GUID " + s)
	}
	for i := range raw {
		var v byte
		for _, c := range h[2*i : 2*i+2] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | byte(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | byte(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | byte(c-'A'+10)
			default:
				panic("authenticode: malformed GUID " + s)
			}
		}
		raw[i] = v
	}
	var g [16]byte
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	return g
}

// guidString formats a GUID in EFI byte order as text.
func guidString(g [16]byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

// entryKind says what an EFI signature type is to ukiboot.
type entryKind int

const (
	kindSkip      entryKind = iota // well-formed, can never match an Authenticode image
	kindCert                       // an X.509 certificate
	kindImageHash                  // the Authenticode digest of an image
	kindTBSHash                    // a hash of a certificate's TBSCertificate, then an EFI_TIME
)

// sigType is one EFI_SIGNATURE_TYPE of the UEFI specification (2.10,
// §32.4.1 "Signature Database"; EDK2's ImageAuthentication.h).
type sigType struct {
	guid [16]byte
	name string
	kind entryKind
	// size is the SignatureData length (SignatureSize minus the 16-byte
	// SignatureOwner); 0 for the variable-size X.509 and PKCS7 types.
	// altSize, when not 0, is also accepted.
	size, altSize int
	hashLen       int // kindTBSHash: the hash before the EFI_TIME
}

// efiTimeSize is sizeof(EFI_TIME).
const efiTimeSize = 16

// sigTypes lists every signature type the UEFI specification defines.
// The sizes are those of EDK2's AuthService.c mSupportSigItem, and of
// the specification for the types EDK2 does not list.
func sigTypes() []sigType {
	return []sigType{
		{guid: guid("c1c41626-504c-4092-aca9-41f936934328"), name: "EFI_CERT_SHA256", kind: kindImageHash, size: 32},
		{guid: guid("ff3e5307-9fd0-48c9-85f1-8ad56c701e01"), name: "EFI_CERT_SHA384", kind: kindImageHash, size: 48},
		{guid: guid("093e0fae-a6c4-4f50-9f1b-d41e2b89c19a"), name: "EFI_CERT_SHA512", kind: kindImageHash, size: 64},
		{guid: guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072"), name: "EFI_CERT_X509", kind: kindCert},
		{guid: guid("3bd2a492-96c0-4079-b420-fcf98ef103ed"), name: "EFI_CERT_X509_SHA256", kind: kindTBSHash, size: 32 + efiTimeSize, hashLen: 32},
		{guid: guid("7076876e-80c2-4ee6-aad2-28b349a6865b"), name: "EFI_CERT_X509_SHA384", kind: kindTBSHash, size: 48 + efiTimeSize, hashLen: 48},
		{guid: guid("446dbf63-2502-4cda-bcfa-2465d2b0fe9d"), name: "EFI_CERT_X509_SHA512", kind: kindTBSHash, size: 64 + efiTimeSize, hashLen: 64},
		// Types that can never match an Authenticode image: EDK2 skips
		// them when it checks an image.
		{guid: guid("3c5766e8-269c-4e34-aa14-ed776e85b3b6"), name: "EFI_CERT_RSA2048", size: 256},
		{guid: guid("e2b36190-879b-4a3d-ad8d-f2e7bba32784"), name: "EFI_CERT_RSA2048_SHA256", size: 256},
		{guid: guid("826ca512-cf10-4ac9-b187-be01496631bd"), name: "EFI_CERT_SHA1", size: 20},
		{guid: guid("67f8444f-8743-48f1-a328-1eaab8736080"), name: "EFI_CERT_RSA2048_SHA1", size: 256},
		{guid: guid("0b6e5233-a65c-44c9-9407-d9ab83bfc8bd"), name: "EFI_CERT_SHA224", size: 28},
		{guid: guid("4aafd29d-68df-49ee-8aa9-347d375665a7"), name: "EFI_CERT_TYPE_PKCS7"},
		{guid: guid("57347f87-7a9b-403a-b93c-dc4afb7a0ebc"), name: "EFI_CERT_SM3", size: 32},
		// The specification's text says 16+32 bytes, its structure
		// (an SM3 hash and an EFI_TIME) is 16+48: accept both.
		{guid: guid("60d807e5-10b4-49a9-9331-e40437888d37"), name: "EFI_CERT_X509_SM3", size: 32 + efiTimeSize, altSize: 32},
		{guid: guid("452e8ced-dfff-4b8c-ae01-5118862e682c"), name: "EFI_CERT_EXTERNAL_MANAGEMENT", size: 1},
	}
}

func lookupSigType(g [16]byte) (sigType, bool) {
	for _, t := range sigTypes() {
		if t.guid == g {
			return t, true
		}
	}
	return sigType{}, false
}

// List is one side of the trust store: certificates and hashes.
type List struct {
	Certs []*x509.Certificate
	// Hashes of images (EFI_CERT_SHA256/384/512), hex.
	ImageHashes map[string]bool
	// Hashes of certificates' TBSCertificate (EFI_CERT_X509_SHA*), hex.
	TBSHashes map[string]bool
	// Skipped counts the well-formed entries, by EFI signature type name,
	// that can never match an Authenticode image (EFI_CERT_RSA2048,
	// EFI_CERT_SHA1, ...), and in db only, entries of unknown types
	// ("unknown type <GUID>").
	Skipped map[string]int
	// Sources names where entries came from, for messages.
	Sources []string
	// forbid marks dbx, where a list of unknown type is an error.
	forbid bool
}

func newList() *List {
	return &List{ImageHashes: map[string]bool{}, TBSHashes: map[string]bool{}, Skipped: map[string]int{}}
}

// empty returns a new, empty list for the same side as l.
func (l *List) empty() *List {
	n := newList()
	n.forbid = l.forbid
	return n
}

// Empty reports whether the list has no entries.
func (l *List) Empty() bool {
	return l == nil || len(l.Certs) == 0 && len(l.ImageHashes) == 0 && len(l.TBSHashes) == 0
}

// addCert adds c unless a certificate with the same DER is there: a
// list is the set its Canonical form says, and a copy would only spend
// the signature-check budget (MaxSignatureChecks) again.
func (l *List) addCert(c *x509.Certificate) {
	for _, have := range l.Certs {
		if bytes.Equal(have.Raw, c.Raw) {
			return
		}
	}
	l.Certs = append(l.Certs, c)
}

// merge adds the entries of o to l.
func (l *List) merge(o *List) {
	for _, c := range o.Certs {
		l.addCert(c)
	}
	for h := range o.ImageHashes {
		l.ImageHashes[h] = true
	}
	for h := range o.TBSHashes {
		l.TBSHashes[h] = true
	}
	if l.Skipped == nil && len(o.Skipped) > 0 {
		l.Skipped = map[string]int{}
	}
	for k, n := range o.Skipped {
		l.Skipped[k] += n
	}
	l.Sources = append(l.Sources, o.Sources...)
}

// Store is a trust store: db (allowed) and dbx (forbidden).
type Store struct {
	DB, DBX *List
	// SBAT, when set, is the SbatLevel images must meet (shim's rule):
	// an image whose .sbat names a revoked generation, or that has no
	// .sbat, is untrusted however it is signed.
	SBAT *sbat.Level
	// SBATSources names where SBAT came from, for messages.
	SBATSources []string
	// Notes says what was found but deliberately not used (a MokListRT
	// without -trust-mok), for -list -v.
	Notes []string
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{DB: newList(), DBX: newList()}
	s.DBX.forbid = true
	return s
}

// side returns dbx when forbid, else db. It marks dbx as such, so that
// a Store built without NewStore is as strict.
func (s *Store) side(forbid bool) *List {
	if forbid {
		s.DBX.forbid = true
		return s.DBX
	}
	return s.DB
}

// AddFile adds a file or a directory of files to db (dbx when forbid):
// PEM or DER X.509 certificates, EFI_SIGNATURE_LIST files (.esl), signed
// variable updates (.auth), or efivarfs variable files.
//
// Every entry of a directory is read, dot-files included, in byte order
// of the names; symbolic links are followed. A subdirectory, a broken
// link, anything that is not a regular file, an unreadable or empty file
// and data that does not parse are errors that name the file: a
// trust-store file is never skipped, since it might hold a revocation.
func (s *Store) AddFile(path string, forbid bool) error {
	st, err := os.Stat(path)
	if err != nil {
		if _, why := ReadTrustFile(path); why != nil {
			return why // says why, a broken link included
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if !st.IsDir() {
		return s.addOneFile(path, forbid)
	}
	des, err := os.ReadDir(path) // sorted by name, byte order
	if err != nil {
		return err
	}
	for _, de := range des {
		if err := s.addOneFile(filepath.Join(path, de.Name()), forbid); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) addOneFile(path string, forbid bool) error {
	b, err := ReadTrustFile(path)
	if err != nil {
		return err
	}
	l := s.side(forbid)
	tmp := l.empty()
	if err := tmp.addBytes(path, b); err != nil {
		return err
	}
	tmp.Sources = []string{path}
	l.merge(tmp)
	return nil
}

// ReadTrustFile reads one trust-store file: symbolic links are followed,
// and the result must be a non-empty regular file of at most
// MaxTrustFileSize bytes. It never blocks on a FIFO or a device.
func ReadTrustFile(path string) ([]byte, error) {
	b, err := safefile.Read(path, MaxTrustFileSize)
	switch {
	case errors.Is(err, safefile.ErrDirectory):
		return nil, fmt.Errorf("%s: %w; trust-store directories are not searched recursively: move its files up or remove it", path, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case len(b) == 0:
		return nil, fmt.Errorf("%s: empty file; put certificates or signature lists in it, or remove it", path)
	}
	return b, nil
}

// addBytes parses the trust-store file path, read into b, into l: a DER
// certificate, PEM certificates, an .auth update, an efivarfs variable or
// bare signature lists. Errors name path and give the byte offset of what
// is wrong.
func (l *List) addBytes(path string, b []byte) error {
	if err := l.parse(b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (l *List) parse(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty")
	case isDERSequence(b):
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("DER certificate: %v", err)
		}
		l.addCert(c)
		return nil
	case isText(b):
		return l.addPEM(b)
	}
	start, err := listsStart(b)
	if err != nil {
		return err
	}
	if start == len(b) {
		return fmt.Errorf("byte %d: no signature lists after the header", start)
	}
	return l.addLists(b, start)
}

// isDERSequence reports whether b is exactly one DER SEQUENCE, as a DER
// certificate is.
func isDERSequence(b []byte) bool {
	if len(b) < 2 || b[0] != 0x30 {
		return false
	}
	n, hdr := int(b[1]), 2
	if n >= 0x80 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	return hdr+n == len(b)
}

// isText reports whether b can be PEM: no NUL and no control byte but
// tab, CR and LF. Signature lists, efivarfs files and DER certificates
// always hold such bytes, so a binary file is never read as PEM, even
// when "-----BEGIN" appears inside one of its certificates.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return false
		}
	}
	return true
}

// addPEM adds every block of PEM data: each must be a CERTIFICATE that
// decodes and parses. Text outside the blocks is allowed, but every
// "-----BEGIN" must start a block.
func (l *List) addPEM(b []byte) error {
	marker := []byte("-----BEGIN")
	var offs []int
	for i := 0; ; {
		j := bytes.Index(b[i:], marker)
		if j < 0 {
			break
		}
		offs = append(offs, i+j)
		i += j + len(marker)
	}
	if len(offs) == 0 {
		return errors.New("text without a PEM CERTIFICATE block, and not a certificate or a signature list")
	}
	for k, off := range offs {
		blk, rest := pem.Decode(b[off:])
		end := len(b) - len(rest)
		// pem.Decode skips a block that does not decode and returns
		// the next one: that would drop the broken block silently.
		if blk == nil || k+1 < len(offs) && end > offs[k+1] {
			return fmt.Errorf("byte %d: PEM block does not decode (bad base64, a missing END line, or -----BEGIN in a comment)", off)
		}
		if blk.Type != "CERTIFICATE" {
			return fmt.Errorf("byte %d: PEM block of type %q; only CERTIFICATE blocks are allowed", off, blk.Type)
		}
		if len(blk.Headers) > 0 {
			return fmt.Errorf("byte %d: CERTIFICATE block with headers", off)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return fmt.Errorf("byte %d: CERTIFICATE block: %v", off, err)
		}
		l.addCert(c)
	}
	return nil
}

// listsStart finds where the signature lists start in b: after the
// authentication header of an .auth update (EFI_VARIABLE_AUTHENTICATION_2),
// after the attribute word of an efivarfs file, or at 0.
func listsStart(b []byte) (int, error) {
	const (
		winCertRevision = 0x0200
		winCertTypeGUID = 0x0ef1
		authHdr         = efiTimeSize + 8 + 16 // EFI_TIME, WIN_CERTIFICATE, CertType
	)
	if len(b) >= authHdr && binary.LittleEndian.Uint16(b[20:]) == winCertRevision && binary.LittleEndian.Uint16(b[22:]) == winCertTypeGUID {
		n := binary.LittleEndian.Uint32(b[16:])
		if n < 8+16 || uint64(efiTimeSize)+uint64(n) > uint64(len(b)) {
			return 0, fmt.Errorf("byte 16: .auth header: WIN_CERTIFICATE dwLength %d does not fit the file", n)
		}
		if [16]byte(b[24:40]) != guid("4aafd29d-68df-49ee-8aa9-347d375665a7") {
			return 0, fmt.Errorf("byte 24: .auth header: CertType %s is not EFI_CERT_TYPE_PKCS7_GUID", guidString([16]byte(b[24:40])))
		}
		return efiTimeSize + int(n), nil
	}
	// An efivarfs file starts with the variable's attributes, which use
	// the low 8 bits only; every EFI signature type GUID has larger first
	// 4 bytes.
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) <= 0xff {
		return 4, nil
	}
	return 0, nil
}

// addLists parses the EFI_SIGNATURE_LISTs that make up b[start:] exactly.
// Offsets in errors are from the start of b. l is changed only if all of
// it parses.
func (l *List) addLists(b []byte, start int) error {
	tmp := l.empty()
	for off := start; off < len(b); {
		n, err := tmp.addList(b, off)
		if err != nil {
			return err
		}
		off += n
	}
	tmp.Sources = nil
	l.merge(tmp)
	return nil
}

// eslHeaderSize is sizeof(EFI_SIGNATURE_LIST).
const eslHeaderSize = 28

// addList parses the EFI_SIGNATURE_LIST at b[off:] and returns its size.
func (l *List) addList(b []byte, off int) (int, error) {
	rest := b[off:]
	if len(rest) < eslHeaderSize {
		return 0, fmt.Errorf("byte %d: truncated EFI_SIGNATURE_LIST header (%d bytes left, %d needed)", off, len(rest), eslHeaderSize)
	}
	typ := [16]byte(rest[:16])
	listSize := uint64(binary.LittleEndian.Uint32(rest[16:]))
	hdrSize := uint64(binary.LittleEndian.Uint32(rest[20:]))
	sigSize := uint64(binary.LittleEndian.Uint32(rest[24:]))
	switch {
	case listSize < eslHeaderSize || listSize > uint64(len(rest)):
		return 0, fmt.Errorf("byte %d: EFI_SIGNATURE_LIST size %d does not fit (%d bytes left)", off, listSize, len(rest))
	case eslHeaderSize+hdrSize > listSize:
		return 0, fmt.Errorf("byte %d: EFI_SIGNATURE_LIST header size %d does not fit its list of %d bytes", off, hdrSize, listSize)
	case sigSize < 16:
		return 0, fmt.Errorf("byte %d: SignatureSize %d is smaller than the 16-byte SignatureOwner", off, sigSize)
	case (listSize-eslHeaderSize-hdrSize)%sigSize != 0:
		return 0, fmt.Errorf("byte %d: EFI_SIGNATURE_LIST of %d bytes does not hold whole signatures of %d bytes", off, listSize, sigSize)
	}
	count := int((listSize - eslHeaderSize - hdrSize) / sigSize)
	t, known := lookupSigType(typ)
	if !known {
		if l.forbid {
			return 0, fmt.Errorf("byte %d: signature list of unknown type %s in dbx: a revocation ukiboot cannot apply is not ignored", off, guidString(typ))
		}
		l.Skipped["unknown type "+guidString(typ)] += count
		return int(listSize), nil
	}
	dataSize := int(sigSize) - 16
	switch {
	case hdrSize != 0:
		return 0, fmt.Errorf("byte %d: %s list with SignatureHeaderSize %d, the specification says 0", off, t.name, hdrSize)
	case t.size == 0 && dataSize == 0:
		return 0, fmt.Errorf("byte %d: %s list with empty signatures", off, t.name)
	case t.size != 0 && dataSize != t.size && (t.altSize == 0 || dataSize != t.altSize):
		return 0, fmt.Errorf("byte %d: %s list with SignatureSize %d, the specification says %d", off, t.name, sigSize, 16+t.size)
	}
	first := off + eslHeaderSize
	for i := 0; i < count; i++ {
		at := first + i*int(sigSize)
		data := b[at+16 : at+int(sigSize)] // after SignatureOwner
		switch t.kind {
		case kindCert:
			c, err := x509.ParseCertificate(data)
			if err != nil {
				return 0, fmt.Errorf("byte %d: %s entry: %v", at, t.name, err)
			}
			l.addCert(c)
		case kindImageHash:
			l.ImageHashes[fmt.Sprintf("%x", data)] = true
		case kindTBSHash:
			l.TBSHashes[fmt.Sprintf("%x", data[:t.hashLen])] = true
		default:
			l.Skipped[t.name]++
		}
	}
	return int(listSize), nil
}

// Summary describes the store in a few lines: for db and dbx, the
// number of certificates, image hashes and TBS hashes, the skipped
// entries by type, and the sources; then the notes.
func (s *Store) Summary() []string {
	var out []string
	for _, side := range []struct {
		name string
		l    *List
	}{{"db", s.DB}, {"dbx", s.DBX}} {
		l := side.l
		if l == nil {
			l = newList()
		}
		line := fmt.Sprintf("%s: %s, %s, %s", side.name, plural(len(l.Certs), "certificate"),
			plural(len(l.ImageHashes), "image hash"), plural(len(l.TBSHashes), "TBS hash"))
		var skipped []string
		for k, n := range l.Skipped {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, k))
		}
		if len(skipped) > 0 {
			sort.Strings(skipped)
			line += "; skipped (cannot match an image): " + strings.Join(skipped, ", ")
		}
		out = append(out, line)
		if len(l.Sources) > 0 {
			out = append(out, "  from "+strings.Join(l.Sources, ", "))
		}
	}
	if s.SBAT != nil {
		out = append(out, fmt.Sprintf("sbat level: %s", strings.Join(strings.Split(strings.TrimSpace(s.SBAT.String()), "\n"), " ")))
		if len(s.SBATSources) > 0 {
			out = append(out, "  from "+strings.Join(s.SBATSources, ", "))
		}
	}
	for _, n := range s.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func plural(n int, what string) string {
	switch {
	case n == 1:
		return "1 " + what
	case strings.HasSuffix(what, "sh"):
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
