package authenticode

import (
	"crypto"
	"crypto/sha256"
	"testing"
)

// FuzzParseSignature: arbitrary bytes in a WIN_CERTIFICATE never panic the
// parser or the checks, and never verify.
func FuzzParseSignature(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, der []byte) {
		s, err := ParseSignature(der)
		if err != nil {
			return
		}
		sum := sha256.Sum256(der)
		if s.CheckSignature() == nil && s.DigestAlgorithm == crypto.SHA256 && string(s.ImageDigest) == string(sum[:]) {
			t.Fatal("a fuzzed signature verified")
		}
		_, _ = newChecker().chainToDB(s.Signer, s.Certificates, newList(), newList())
	})
}

// FuzzSignatureList: arbitrary trust-store files never panic.
func FuzzSignatureList(f *testing.F) {
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, b []byte) {
		l := newList()
		_ = l.addBytes("fuzz.esl", b)
	})
}
