package ukitest

import (
	"encoding/binary"
	"io"
)

// Sparse is a file of Size bytes generated as it is read: Head at offset
// 0, Tail at TailOff, zeros between. It takes the memory of Head and Tail
// only, so that tests can list and serve UKIs of hundreds of MiB.
type Sparse struct {
	Head, Tail    []byte
	TailOff, Size int64
}

// ReadAt implements io.ReaderAt.
func (s *Sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.Size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), s.Size-off))
	clear(p[:n])
	overlay(p[:n], off, s.Head, 0)
	overlay(p[:n], off, s.Tail, s.TailOff)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// overlay copies into dst, which holds the file from offset off, the
// part of src (at offset at) that it covers.
func overlay(dst []byte, off int64, src []byte, at int64) {
	lo, hi := max(off, at), min(off+int64(len(dst)), at+int64(len(src)))
	if lo < hi {
		copy(dst[lo-off:hi-off], src[lo-at:hi-at])
	}
}

// BigUKI is a UKI of about size bytes (a few KiB less, never more) with
// the sections secs, whose last section (a .linux) grows to zeros that
// fill the rest, and which ends with a certificate table, as a signed UKI
// does. It is not signed by anyone: it is for listing, and for reading
// without verification. Put a stub's code (.text, about 100 KiB) first to
// lay the small sections beyond the first block, as ukify does.
func BigUKI(size int64, secs ...Section) *Sparse {
	img, l := Image{Sections: secs}.Build()
	le := binary.LittleEndian
	last := len(secs) - 1
	hdr := l.SectionHeaders[last]
	ptr := int64(l.SectionData[last])
	linux := uint32(size - ptr - 4096)
	le.PutUint32(img[hdr+8:], linux)  // VirtualSize
	le.PutUint32(img[hdr+16:], linux) // SizeOfRawData
	va := le.Uint32(img[hdr+12:])
	le.PutUint32(img[l.OptOffset+56:], (va+linux+0xfff)&^0xfff) // SizeOfImage
	tail := WinCert(2, make([]byte, 2000))
	tailOff := (ptr + int64(linux) + 7) &^ 7
	le.PutUint32(img[l.CertDirOffset:], uint32(tailOff))
	le.PutUint32(img[l.CertDirOffset+4:], uint32(len(tail)))
	return &Sparse{Head: img[:ptr], Tail: tail, TailOff: tailOff, Size: tailOff + int64(len(tail))}
}
