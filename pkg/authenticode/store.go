package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EFI signature types (EFI_SIGNATURE_LIST.SignatureType), in the byte
// order they have on disk.
var (
	certSHA256     = guid("c1c41626-504c-4092-aca9-41f936934328")
	certSHA384     = guid("ff3e5307-9fd0-48c9-85f1-8ad56c701e01")
	certSHA512     = guid("093e0fae-a6c4-4f50-9f1b-d41e2b89c19a")
	certX509       = guid("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	certX509SHA256 = guid("3bd2a492-96c0-4079-b420-fcf98ef103ed")
	certX509SHA384 = guid("7076876e-80c2-4ee6-aad2-28b349a6865b")
	certX509SHA512 = guid("446dbf63-2502-4cda-bcfa-2465d2b0fe9d")
)

// GUIDs of the variables that hold the trust store.
const (
	ImageSecurityDatabaseGUID = "d719b2cb-3d3a-4596-a3bc-dad00e67656f" // db, dbx
	ShimLockGUID              = "605dab50-e046-4300-abb6-3dd810dd8b23" // MokListRT, MokListXRT
	GlobalVariableGUID        = "8be4df61-93ca-11d2-aa0d-00e098032b8c" // SecureBoot
)

// GUIDBytes encodes a GUID string in EFI (mixed-endian) byte order.
func GUIDBytes(s string) [16]byte { return guid(s) }

// guid encodes a GUID string in EFI (mixed-endian) byte order.
func guid(s string) [16]byte {
	var g [16]byte
	h := strings.ReplaceAll(s, "-", "")
	var raw [16]byte
	for i := 0; i < 16; i++ {
		fmt.Sscanf(h[2*i:2*i+2], "%02x", &raw[i])
	}
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	return g
}

// List is one side of the trust store: certificates and hashes.
type List struct {
	Certs []*x509.Certificate
	// Hashes of images (EFI_CERT_SHA256/384/512), hex.
	ImageHashes map[string]bool
	// Hashes of certificates' TBSCertificate (EFI_CERT_X509_SHA*), hex.
	TBSHashes map[string]bool
	// Sources names where entries came from, for messages.
	Sources []string
}

func newList() *List {
	return &List{ImageHashes: map[string]bool{}, TBSHashes: map[string]bool{}}
}

// Empty reports whether the list has no entries.
func (l *List) Empty() bool {
	return l == nil || len(l.Certs) == 0 && len(l.ImageHashes) == 0 && len(l.TBSHashes) == 0
}

// Store is a trust store: db (allowed) and dbx (forbidden).
type Store struct {
	DB, DBX *List
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{DB: newList(), DBX: newList()} }

// AddFile adds a file or a directory of files to db (dbx when forbid):
// PEM or DER X.509 certificates, EFI_SIGNATURE_LIST files (.esl), signed
// variable updates (.auth), or efivarfs variable files.
func (s *Store) AddFile(path string, forbid bool) error {
	l := s.DB
	if forbid {
		l = s.DBX
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		des, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		names := []string{}
		for _, de := range des {
			if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".") {
				names = append(names, de.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			if err := l.addFile(filepath.Join(path, n)); err != nil {
				return err
			}
		}
		return nil
	}
	return l.addFile(path)
}

func (l *List) addFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := l.addBytes(path, b); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	l.Sources = append(l.Sources, path)
	return nil
}

func (l *List) addBytes(path string, b []byte) error {
	// PEM certificates.
	if bytes.Contains(b, []byte("-----BEGIN")) {
		n := 0
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return err
			}
			l.Certs = append(l.Certs, c)
			n++
		}
		if n == 0 {
			return errors.New("no CERTIFICATE in PEM data")
		}
		return nil
	}
	// DER certificate.
	if c, err := x509.ParseCertificate(b); err == nil {
		l.Certs = append(l.Certs, c)
		return nil
	}
	// Signature lists (.esl).
	err := l.tryESL(b)
	if err == nil {
		return nil
	}
	// An efivarfs file: 4 attribute bytes, then signature lists.
	if len(b) > 4 && l.tryESL(b[4:]) == nil {
		return nil
	}
	// A .auth update: EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID, then lists.
	if len(b) > 16+8 {
		authLen := int(binary.LittleEndian.Uint32(b[16:]))
		if authLen >= 8 && 16+authLen < len(b) && l.tryESL(b[16+authLen:]) == nil {
			return nil
		}
	}
	return fmt.Errorf("not a certificate or an EFI signature list: %v", err)
}

// tryESL parses EFI_SIGNATURE_LISTs; entries are added only if the whole
// buffer parses.
func (l *List) tryESL(b []byte) error {
	tmp := newList()
	if len(b) == 0 {
		return errors.New("empty signature list")
	}
	for len(b) > 0 {
		if len(b) < 28 {
			return errors.New("truncated EFI_SIGNATURE_LIST header")
		}
		var typ [16]byte
		copy(typ[:], b)
		listSize := binary.LittleEndian.Uint32(b[16:])
		hdrSize := binary.LittleEndian.Uint32(b[20:])
		sigSize := binary.LittleEndian.Uint32(b[24:])
		if listSize < 28 || uint64(listSize) > uint64(len(b)) || sigSize < 16 || uint64(28)+uint64(hdrSize) > uint64(listSize) {
			return fmt.Errorf("bad EFI_SIGNATURE_LIST sizes (list %d, header %d, signature %d)", listSize, hdrSize, sigSize)
		}
		body := b[28+hdrSize : listSize]
		if uint32(len(body))%sigSize != 0 {
			return fmt.Errorf("EFI_SIGNATURE_LIST body of %d bytes is not a multiple of %d", len(body), sigSize)
		}
		for ; len(body) > 0; body = body[sigSize:] {
			data := body[16:sigSize] // after SignatureOwner
			switch typ {
			case certX509:
				c, err := x509.ParseCertificate(data)
				if err != nil {
					return fmt.Errorf("X.509 entry: %v", err)
				}
				tmp.Certs = append(tmp.Certs, c)
			case certSHA256, certSHA384, certSHA512:
				tmp.ImageHashes[fmt.Sprintf("%x", data)] = true
			case certX509SHA256, certX509SHA384, certX509SHA512:
				// EFI_CERT_X509_SHA*: the hash, then a revocation time.
				n := map[[16]byte]int{certX509SHA256: 32, certX509SHA384: 48, certX509SHA512: 64}[typ]
				if len(data) < n {
					return errors.New("short certificate-hash entry")
				}
				tmp.TBSHashes[fmt.Sprintf("%x", data[:n])] = true
			default:
				// Other types (RSA2048 keys, ...) cannot match an
				// Authenticode chain; ignore them.
			}
		}
		b = b[listSize:]
	}
	l.Certs = append(l.Certs, tmp.Certs...)
	for h := range tmp.ImageHashes {
		l.ImageHashes[h] = true
	}
	for h := range tmp.TBSHashes {
		l.TBSHashes[h] = true
	}
	return nil
}

// AddEFIVars adds db, dbx, MokListRT and MokListXRT from an efivarfs
// directory, when present. It returns how many variables it read.
func (s *Store) AddEFIVars(dir string) (int, error) {
	n := 0
	for _, v := range []struct {
		name   string
		forbid bool
	}{
		{"db-" + ImageSecurityDatabaseGUID, false},
		{"dbx-" + ImageSecurityDatabaseGUID, true},
		{"MokListRT-" + ShimLockGUID, false},
		{"MokListXRT-" + ShimLockGUID, true},
	} {
		p := filepath.Join(dir, v.name)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		l := s.DB
		if v.forbid {
			l = s.DBX
		}
		if len(b) <= 4 {
			continue
		}
		if err := l.tryESL(b[4:]); err != nil {
			return n, fmt.Errorf("%s: %w", p, err)
		}
		l.Sources = append(l.Sources, p)
		n++
	}
	return n, nil
}
