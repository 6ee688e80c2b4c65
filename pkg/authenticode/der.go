package authenticode

import (
	"bytes"
	"errors"
	"fmt"
)

// Certificates carried in a signature must be canonical DER. Go's
// x509.ParseCertificate accepts encodings that change a certificate's bytes
// but not what it says (an element after the signature inside the
// Certificate SEQUENCE, unused bits in the signature BIT STRING, ...). Such
// a copy of a revoked certificate would not match its dbx entry byte for
// byte, so ukiboot refuses it: a certificate is accepted only if
// re-encoding it in DER gives the same bytes.

// maxDERDepth bounds the nesting of a certificate's encoding.
const maxDERDepth = 32

// tlv is one decoded DER element.
type tlv struct {
	class, tag  int
	constructed bool
	value       []byte // contents of a primitive element
	children    []*tlv // elements of a constructed element
}

var errDER = errors.New("not canonical DER")

func derErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDER, fmt.Sprintf(format, args...))
}

// parseTLV decodes one element at the start of b and returns the rest.
// Lengths and tags are decoded in any form; reencode writes the minimal one.
func parseTLV(b []byte, depth int) (*tlv, []byte, error) {
	if depth > maxDERDepth {
		return nil, nil, derErr("nested more than %d levels", maxDERDepth)
	}
	if len(b) < 2 {
		return nil, nil, derErr("truncated element")
	}
	t := &tlv{class: int(b[0] >> 6), constructed: b[0]&0x20 != 0, tag: int(b[0] & 0x1f)}
	i := 1
	if t.tag == 0x1f { // high tag number form
		t.tag = 0
		for {
			if i >= len(b) || t.tag > 1<<24 {
				return nil, nil, derErr("bad tag")
			}
			c := b[i]
			i++
			t.tag = t.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return nil, nil, derErr("truncated length")
	}
	n := uint64(b[i])
	i++
	if n == 0x80 {
		return nil, nil, derErr("indefinite length")
	}
	if n > 0x80 {
		k := int(n & 0x7f)
		if k > 4 || i+k > len(b) {
			return nil, nil, derErr("bad length")
		}
		n = 0
		for _, c := range b[i : i+k] {
			n = n<<8 | uint64(c)
		}
		i += k
	}
	if n > uint64(len(b)-i) { // unsigned: no overflow on 32-bit machines
		return nil, nil, derErr("element of %d bytes, %d left", n, len(b)-i)
	}
	content, rest := b[i:i+int(n)], b[i+int(n):]
	if !t.constructed {
		t.value = content
		return t, rest, nil
	}
	for len(content) > 0 {
		c, r, err := parseTLV(content, depth+1)
		if err != nil {
			return nil, nil, err
		}
		t.children = append(t.children, c)
		content = r
	}
	return t, rest, nil
}

const (
	classUniversal = 0
	tagBoolean     = 1
	tagInteger     = 2
	tagBitString   = 3
	tagNull        = 5
	tagOID         = 6
	tagEnumerated  = 10
	tagSequence    = 16
	tagSet         = 17
)

// checkPrimitive applies DER's rules for the contents of universal
// primitive types.
func (t *tlv) checkPrimitive() error {
	if t.class != classUniversal {
		return nil
	}
	v := t.value
	switch t.tag {
	case tagBoolean:
		if len(v) != 1 || (v[0] != 0 && v[0] != 0xff) {
			return derErr("BOOLEAN is not 0x00 or 0xff")
		}
	case tagInteger, tagEnumerated:
		if len(v) == 0 {
			return derErr("empty INTEGER")
		}
		if len(v) > 1 && (v[0] == 0 && v[1] < 0x80 || v[0] == 0xff && v[1] >= 0x80) {
			return derErr("INTEGER not minimally encoded")
		}
	case tagBitString:
		if len(v) == 0 || v[0] > 7 || len(v) == 1 && v[0] != 0 {
			return derErr("bad BIT STRING")
		}
		if len(v) > 1 && v[len(v)-1]&(1<<v[0]-1) != 0 {
			return derErr("BIT STRING padding bits are not zero")
		}
	case tagNull:
		if len(v) != 0 {
			return derErr("NULL with contents")
		}
	case tagOID:
		if len(v) == 0 || v[len(v)-1]&0x80 != 0 {
			return derErr("bad OBJECT IDENTIFIER")
		}
		for i, c := range v {
			if c == 0x80 && (i == 0 || v[i-1]&0x80 == 0) {
				return derErr("OBJECT IDENTIFIER not minimally encoded")
			}
		}
	}
	return nil
}

// reencode writes t in DER: minimal tags and lengths, the elements of a
// SET in ascending order of their encodings. Universal string types must
// be primitive.
func (t *tlv) reencode(out *bytes.Buffer) error {
	var content []byte
	if t.constructed {
		if t.class == classUniversal && t.tag != tagSequence && t.tag != tagSet {
			return derErr("constructed form of universal type %d", t.tag)
		}
		parts := make([][]byte, len(t.children))
		for i, c := range t.children {
			var b bytes.Buffer
			if err := c.reencode(&b); err != nil {
				return err
			}
			parts[i] = b.Bytes()
		}
		if t.class == classUniversal && t.tag == tagSet {
			for i := 1; i < len(parts); i++ {
				if bytes.Compare(parts[i-1], parts[i]) > 0 {
					return derErr("SET elements out of order")
				}
			}
		}
		content = bytes.Join(parts, nil)
	} else {
		if err := t.checkPrimitive(); err != nil {
			return err
		}
		content = t.value
	}
	id := byte(t.class<<6) | map[bool]byte{false: 0, true: 0x20}[t.constructed]
	if t.tag < 0x1f {
		out.WriteByte(id | byte(t.tag))
	} else {
		out.WriteByte(id | 0x1f)
		var b []byte
		for n := t.tag; n > 0; n >>= 7 {
			b = append([]byte{byte(n&0x7f) | 0x80}, b...)
		}
		b[len(b)-1] &^= 0x80
		out.Write(b)
	}
	if n := len(content); n < 0x80 {
		out.WriteByte(byte(n))
	} else {
		var b []byte
		for ; n > 0; n >>= 8 {
			b = append([]byte{byte(n)}, b...)
		}
		out.WriteByte(0x80 | byte(len(b)))
		out.Write(b)
	}
	out.Write(content)
	return nil
}

// checkCanonicalCert reports whether der is one X.509 certificate in
// canonical DER: nothing after it, exactly tbsCertificate,
// signatureAlgorithm and signatureValue in its SEQUENCE, no unused bits in
// the signature, and the same bytes when re-encoded.
func checkCanonicalCert(der []byte) error {
	t, rest, err := parseTLV(der, 0)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return derErr("%d bytes after the certificate", len(rest))
	}
	if t.class != classUniversal || t.tag != tagSequence || !t.constructed || len(t.children) != 3 {
		return derErr("a certificate is a SEQUENCE of three elements, this one has %d", len(t.children))
	}
	if sig := t.children[2]; sig.class != classUniversal || sig.tag != tagBitString || sig.constructed || len(sig.value) == 0 || sig.value[0] != 0 {
		return derErr("the signature is not a BIT STRING without unused bits")
	}
	var b bytes.Buffer
	if err := t.reencode(&b); err != nil {
		return err
	}
	if !bytes.Equal(b.Bytes(), der) {
		return derErr("re-encoding changes the bytes")
	}
	return nil
}

// splitCertificates splits the contents of SignedData's certificates field
// into the encodings of its elements, refusing more than max of them
// before any is parsed.
func splitCertificates(b []byte, max int) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(out) == max {
			return nil, fmt.Errorf("more than %d certificates", max)
		}
		t, rest, err := parseTLV(b, 0)
		if err != nil {
			return nil, err
		}
		if t.class != classUniversal || t.tag != tagSequence {
			return nil, fmt.Errorf("element %d is not a certificate (class %d, tag %d)", len(out)+1, t.class, t.tag)
		}
		out = append(out, b[:len(b)-len(rest)])
		b = rest
	}
	return out, nil
}
