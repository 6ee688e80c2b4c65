package authenticode

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
)

// Canonical returns the entries of l that can decide a verdict, as
// EFI_SIGNATURE_LISTs in one order whatever the order the entries were
// read in: each distinct certificate in its own EFI_CERT_X509 list,
// sorted by DER; then one list per image-hash type (EFI_CERT_SHA256,
// SHA384, SHA512) and one per TBS-hash type (EFI_CERT_X509_SHA256,
// SHA384, SHA512), entries sorted. Every SignatureOwner is zero and a
// TBS hash's EFI_TIME is zero: ukiboot uses neither. Entries that can
// never match an image (List.Skipped) are left out, as they change no
// verdict. The bytes read back with AddFile to the same entries.
//
// A hash of a length no signature type has is an error: such a list
// was not made by this package, and its digest would not describe
// what is enforced.
func (l *List) Canonical() ([]byte, error) {
	if l == nil {
		return nil, nil
	}
	var out bytes.Buffer
	types := sigTypes()
	var certs [][]byte
	for _, c := range l.Certs {
		certs = append(certs, c.Raw)
	}
	slices.SortFunc(certs, bytes.Compare)
	certs = slices.CompactFunc(certs, bytes.Equal)
	x509 := types[slices.IndexFunc(types, func(t sigType) bool { return t.kind == kindCert })]
	for _, c := range certs {
		writeList(&out, x509.guid, [][]byte{c})
	}
	for _, side := range []struct {
		kind   entryKind
		hashes map[string]bool
		pad    int // the zero EFI_TIME after a TBS hash
	}{{kindImageHash, l.ImageHashes, 0}, {kindTBSHash, l.TBSHashes, efiTimeSize}} {
		bySize := map[int][][]byte{}
		for h := range side.hashes {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("hash entry %q is not hexadecimal", h)
			}
			size := len(b) + side.pad
			if !slices.ContainsFunc(types, func(t sigType) bool { return t.kind == side.kind && t.size == size }) {
				return nil, fmt.Errorf("hash entry %s: no signature type holds a %d-byte hash", h, len(b))
			}
			bySize[size] = append(bySize[size], append(b, make([]byte, side.pad)...))
		}
		for _, t := range types {
			if t.kind != side.kind || len(bySize[t.size]) == 0 {
				continue
			}
			entries := bySize[t.size]
			slices.SortFunc(entries, bytes.Compare)
			writeList(&out, t.guid, entries)
		}
	}
	return out.Bytes(), nil
}

// writeList appends an EFI_SIGNATURE_LIST of type typ holding entries
// (all of one size), each with a zero SignatureOwner.
func writeList(out *bytes.Buffer, typ [16]byte, entries [][]byte) {
	sigSize := 16 + len(entries[0])
	var hdr [eslHeaderSize]byte
	copy(hdr[:16], typ[:])
	binary.LittleEndian.PutUint32(hdr[16:], uint32(eslHeaderSize+sigSize*len(entries)))
	binary.LittleEndian.PutUint32(hdr[24:], uint32(sigSize))
	out.Write(hdr[:])
	for _, e := range entries {
		out.Write(make([]byte, 16))
		out.Write(e)
	}
}
