package authenticode

import (
	"bytes"
	"encoding/asn1"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// OpenSSL (and so EDK2) decides whether a certificate's issuer is another
// certificate's subject by comparing canonical forms of the two names
// (X509_NAME_cmp): string values of the usual types are converted to
// UTF-8, ASCII letters folded to lower case, leading and trailing white
// space dropped and inner runs of it made one space. A name spelled as a
// PrintableString in one certificate and as a UTF8String in another is
// the same name. ukiboot compares names the same way, so that a chain
// OpenSSL builds, and so a revocation it finds, is found here too.

// ASN.1 string types OpenSSL canonicalises (ASN1_MASK_CANON).
const (
	tagUTF8String      = 12
	tagPrintableString = 19
	tagT61String       = 20
	tagIA5String       = 22
	tagVisibleString   = 26
	tagUniversalString = 28
	tagBMPString       = 30
)

// sameName reports whether two DER-encoded X.509 Names are the same name
// to OpenSSL.
func sameName(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, okA := canonicalName(a)
	cb, okB := canonicalName(b)
	return okA && okB && ca == cb
}

// canonicalName returns a form of name in which names OpenSSL considers
// equal are equal; false when name does not parse. As in OpenSSL's
// canonical encoding, the attributes of a multi-valued RDN are compared
// as a set (sorted) and an empty RDN counts for nothing. Every part is
// written with its length first, so no value can pose as a boundary.
func canonicalName(name []byte) (string, bool) {
	var rdns []asn1.RawValue
	rest, err := asn1.Unmarshal(name, &rdns)
	if err != nil || len(rest) > 0 {
		return "", false
	}
	var out strings.Builder
	for _, rdn := range rdns {
		if rdn.Class != asn1.ClassUniversal || rdn.Tag != asn1.TagSet {
			return "", false
		}
		var atvs []string
		for rest := rdn.Bytes; len(rest) > 0; {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			if rest, err = asn1.Unmarshal(rest, &atv); err != nil {
				return "", false
			}
			value := "r" + string(atv.Value.FullBytes)
			if s, ok := canonicalString(atv.Value); ok {
				value = "s" + s
			}
			atvs = append(atvs, field(atv.Type.String())+field(value))
		}
		if len(atvs) == 0 {
			continue
		}
		sort.Strings(atvs)
		out.WriteString(field(strings.Join(atvs, "")))
	}
	return out.String(), true
}

// field writes s with its length first.
func field(s string) string { return strconv.Itoa(len(s)) + ":" + s }

// canonicalString converts a string value as OpenSSL's asn1_string_canon
// does; false for values of other types or that do not decode.
func canonicalString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return "", false
	}
	var s string
	switch v.Tag {
	case tagUTF8String:
		if !utf8.Valid(v.Bytes) {
			return "", false
		}
		s = string(v.Bytes)
	case tagPrintableString, tagIA5String, tagVisibleString:
		s = string(v.Bytes)
	case tagT61String: // OpenSSL reads T61String as Latin-1
		r := make([]rune, len(v.Bytes))
		for i, c := range v.Bytes {
			r[i] = rune(c)
		}
		s = string(r)
	case tagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		s = string(utf16.Decode(u))
	case tagUniversalString:
		if len(v.Bytes)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(v.Bytes)/4)
		for i := range r {
			b := v.Bytes[4*i:]
			r[i] = rune(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		}
		s = string(r)
	default:
		return "", false
	}
	// Lower-case ASCII letters only, drop leading and trailing white
	// space, make each inner run of it one space.
	var out []byte
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c >= '\t' && c <= '\r' {
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out), true
}
