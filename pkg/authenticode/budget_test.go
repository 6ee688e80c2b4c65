package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// decoys makes n certificates named as ca (so each is a candidate issuer
// of ca's leaves) under one throw-away key: building a chain must try
// them, and none verifies.
func decoys(t *testing.T, ca *ukitest.Key, n int) []*x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*x509.Certificate, n)
	for i := range out {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(1000 + i)), Subject: ca.Cert.Subject, BasicConstraintsValid: true, IsCA: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = x509.ParseCertificate(der); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestWorkIsBounded: 2000 decoy certificates cost at most
// MaxSignatureChecks signature checks, counted through the verifier, not
// timed.
func TestWorkIsBounded(t *testing.T) {
	img := ukitest.PadTo8(ukitest.UKI(ukitest.S(".osrel", "ID=t\n"), ukitest.S(".linux", "kernel")))
	d, err := ImageDigest(img, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ca := ukitest.NewCA(t, "db CA", true)
	leaf := ukitest.NewLeaf(t, "signer", true, ca)
	all := decoys(t, ca, 2000)
	st := NewStore()
	st.DB.Certs = append(st.DB.Certs, ca.Cert)
	st.DBX.Certs = append(st.DBX.Certs, decoys(t, ca, 3)...)

	per := MaxCertificatesPerSignature - 1
	var spread [][]byte // 8 signatures, each carrying its own decoys
	for i := 0; i < MaxSignatures; i++ {
		spread = append(spread, ukitest.PKCS7(d, crypto.SHA256, leaf, all[i*per:(i+1)*per]...))
	}
	var shared [][]byte // 8 signatures carrying the same decoys
	for i := 0; i < MaxSignatures; i++ {
		shared = append(shared, ukitest.PKCS7(d, crypto.SHA256, leaf, all[:per]...))
	}
	for _, c := range []struct {
		name    string
		sigs    [][]byte
		trusted bool
		reason  string
	}{
		{"2000 decoys in one signature", [][]byte{ukitest.PKCS7(d, crypto.SHA256, leaf, all...)}, false, "more than 32 certificates"},
		{"31 decoys in each of 8 signatures", spread, false, "more than 100 signature checks"},
		{"the same 31 decoys in 8 signatures: each pair checked once", shared, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed := ukitest.AttachSignatures(img, c.sigs...)
			f, err := uki.Read(bytes.NewReader(signed), int64(len(signed)), "decoys.efi", uki.KindAuto)
			if err != nil {
				t.Fatal(err)
			}
			dg, err := Digests(f, bytes.NewReader(signed))
			if err != nil {
				t.Fatal(err)
			}
			chk := newChecker()
			calls := 0
			chk.verify = func(child, parent *x509.Certificate) error {
				calls++
				return checkCertSignature(child, parent)
			}
			v := verify(f, dg, st, chk)
			t.Logf("%d certificate checks, %d checks in all: %s", calls, chk.spent, v)
			if calls > MaxSignatureChecks || chk.spent > MaxSignatureChecks {
				t.Errorf("%d certificate checks, %d in all; the bound is %d", calls, chk.spent, MaxSignatureChecks)
			}
			if got := v.Status == Trusted; got != c.trusted {
				t.Fatalf("trusted = %v, want %v: %s", got, c.trusted, v)
			}
			if !c.trusted && !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q does not say %q", v.Reason, c.reason)
			}
		})
	}
}
