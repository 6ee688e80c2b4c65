package authenticode_test

import (
	"crypto"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/sbat"
)

// TestSBAT: an SbatLevel in the store refuses a trusted image whose .sbat
// is revoked or missing, however it is trusted (signature or db hash).
func TestSBAT(t *testing.T) {
	ca := ukitest.NewCert(t, ukitest.CertSpec{Name: "db CA", IsCA: true})
	leaf := ukitest.NewCert(t, ukitest.CertSpec{Name: "signer", Parent: ca})
	withSBAT := func(gen string) []byte {
		return ukitest.PadTo8(ukitest.UKI(
			ukitest.S(".osrel", "ID=test\n"),
			ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nsystemd-stub,"+gen+",The systemd Developers,systemd,259,https://systemd.io/\n"),
			ukitest.S(".linux", "kernel"),
		))
	}
	level, err := sbat.ParseLevel([]byte("sbat,1,2025010100\nsystemd-stub,2\n"))
	if err != nil {
		t.Fatal(err)
	}
	withLevel := func(s *authenticode.Store) *authenticode.Store { s.SBAT = level; return s }
	old, fixed, none := withSBAT("1"), withSBAT("2"), unsignedUKI("no sbat")
	hashed := withLevel(store(nil, nil))
	d, err := digestOf(old)
	if err != nil {
		t.Fatal(err)
	}
	hashed.DB.ImageHashes[hexs(d)] = true

	checkVerdicts(t, []verdictCase{
		{name: "control: no level", img: signAll(t, old, sig(leaf)), store: store(keysOf(ca), nil), trusted: true},
		{name: "generation at the level", img: signAll(t, fixed, sig(leaf)), store: withLevel(store(keysOf(ca), nil)), trusted: true},
		{name: "generation below the level", img: signAll(t, old, sig(leaf)), store: withLevel(store(keysOf(ca), nil)), reason: "SBAT: systemd-stub generation 1 is revoked (SbatLevel requires 2)"},
		{name: "image digest in db, generation below the level", img: old, store: hashed, reason: "SBAT: systemd-stub generation 1"},
		{name: "no .sbat with a level set", img: signAll(t, none, sig(leaf)), store: withLevel(store(keysOf(ca), nil)), reason: "SBAT"},
	})
}

func digestOf(img []byte) ([]byte, error) { return authenticode.ImageDigest(img, crypto.SHA256) }
