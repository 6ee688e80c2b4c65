package uki

import "fmt"

// WIN_CERTIFICATE types.
const (
	CertTypeX509           = 0x0001
	CertTypePKCSSignedData = 0x0002
	CertTypeEFIGUID        = 0x0ef1
)

// Certificate is one WIN_CERTIFICATE entry of the certificate table.
type Certificate struct {
	Offset   int64  // file offset of the entry
	Length   uint32 // dwLength: header plus data, before 8-byte padding
	Revision uint16
	Type     uint16
	Data     []byte // bCertificate: for type 2 a DER PKCS#7 SignedData
}

// winCertificate is the fixed header of a WIN_CERTIFICATE entry, which
// bCertificate follows.
type winCertificate struct {
	Length          uint32 // dwLength
	Revision        uint16 // wRevision
	CertificateType uint16 // wCertificateType
}

// winCertificateSize is binary.Size(winCertificate{}).
const winCertificateSize = 8

// checkCertTable validates the certificate table's location without reading it.
func (f *File) checkCertTable() error {
	ct := f.Header.CertTable()
	if ct.Size == 0 {
		return nil
	}
	start, end := int64(ct.VirtualAddress), int64(ct.VirtualAddress)+int64(ct.Size)
	if end > f.Size {
		return errorf(ErrCertTable, "table %d..%d is past the end of the file (%d bytes)", start, end, f.Size)
	}
	if ct.Size > MaxCertTableBytes {
		return errorf(ErrCertTable, "table is %d bytes, limit %d", ct.Size, MaxCertTableBytes)
	}
	if start < f.Header.SectionTableOffset+int64(f.Header.NumberOfSections)*sectionHeaderSize {
		return errorf(ErrCertTable, "table at offset %d overlaps the headers", start)
	}
	for _, s := range f.Sections {
		if s.SizeOfRawData == 0 {
			continue
		}
		if ss, se := int64(s.PointerToRawData), int64(s.PointerToRawData)+int64(s.SizeOfRawData); start < se && ss < end {
			return errorf(ErrCertTable, "table %d..%d overlaps section %d (%s)", start, end, s.Index, s.Name)
		}
	}
	return nil
}

// Certificates reads and splits the certificate table. A file without one
// returns no entries and no error.
func (f *File) Certificates() ([]Certificate, error) {
	ct := f.Header.CertTable()
	if ct.Size == 0 {
		return nil, nil
	}
	buf := make([]byte, ct.Size) // bounded by checkCertTable
	if err := readAt(f.r, buf, int64(ct.VirtualAddress), "certificate table"); err != nil {
		return nil, withFile(err, f.Name)
	}
	certs, err := ParseCertificateTable(buf, int64(ct.VirtualAddress))
	return certs, withFile(err, f.Name)
}

// ParseCertificateTable splits a certificate table that starts at file
// offset base into its WIN_CERTIFICATE entries. Entries are 8-byte aligned;
// zero padding after the last entry is allowed.
func ParseCertificateTable(buf []byte, base int64) ([]Certificate, error) {
	var out []Certificate
	off := 0
	for off < len(buf) {
		rest := buf[off:]
		if allZero(rest) && len(out) > 0 {
			break
		}
		if len(rest) < winCertificateSize {
			return nil, errorf(ErrCertTable, "entry at offset %d: %d bytes left, a header needs %d", base+int64(off), len(rest), winCertificateSize)
		}
		var h winCertificate
		decode(rest, &h)
		c := Certificate{Offset: base + int64(off), Length: h.Length, Revision: h.Revision, Type: h.CertificateType}
		if c.Length < winCertificateSize || int64(c.Length) > int64(len(rest)) {
			return nil, errorf(ErrCertTable, "entry at offset %d: length %d does not fit the %d bytes left", c.Offset, c.Length, len(rest))
		}
		c.Data = rest[winCertificateSize:c.Length]
		out = append(out, c)
		next := (int64(off) + int64(c.Length) + 7) &^ 7
		if next > int64(len(buf)) {
			next = int64(len(buf))
		}
		off = int(next)
	}
	if len(out) == 0 {
		return nil, errorf(ErrCertTable, "table of %d bytes holds no entry", len(buf))
	}
	return out, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// CertTypeName names a WIN_CERTIFICATE type.
func CertTypeName(t uint16) string {
	switch t {
	case CertTypeX509:
		return "x509"
	case CertTypePKCSSignedData:
		return "pkcs7"
	case CertTypeEFIGUID:
		return "efi-guid"
	}
	return fmt.Sprintf("0x%04x", t)
}
