package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/sbat"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// TestPolicyEvents: ukiboot's PCR 7 events, their order, data and
// digests in two banks, against an independent computation; the order
// trust-store files were read in and a ukiboot update change nothing.
func TestPolicyEvents(t *testing.T) {
	ca := ukitest.NewCA(t, "PCR7 db CA", false)
	other := ukitest.NewCA(t, "PCR7 other CA", true)
	revoked := bytes.Repeat([]byte{0xdd}, 32)
	level := func(text string) *sbat.Level {
		l, err := sbat.ParseLevel([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	store := func(certs []*ukitest.Key, lvl string) *authenticode.Store {
		s := authenticode.NewStore()
		for _, k := range certs {
			s.DB.Certs = append(s.DB.Certs, k.Cert)
		}
		s.DBX.ImageHashes[hex.EncodeToString(revoked)] = true
		s.SBAT = level(lvl)
		return s
	}
	x509 := authenticode.GUIDBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	sha256T := authenticode.GUIDBytes("c1c41626-504c-4092-aca9-41f936934328")
	certs := [][]byte{ca.Cert.Raw, other.Cert.Raw}
	slices.SortFunc(certs, bytes.Compare)
	wantData := [][]byte{
		[]byte("ukiboot-policy-format=1\nverify=enforce\nlockdown=integrity\n"),
		append(ukitest.SignatureList(x509, certs[0]), ukitest.SignatureList(x509, certs[1])...),
		ukitest.SignatureList(sha256T, revoked),
		[]byte("sbat,1,2024010200\ngrub,3\nshim,4\n"),
		ca.Cert.Raw,
	}
	wantDesc := []string{"ukiboot policy", "db", "dbx", "SbatLevel", "db authority: CN=PCR7 db CA"}
	verdict := &authenticode.Verdict{Status: authenticode.Trusted, Anchor: "CN=PCR7 db CA", AnchorCert: ca.Cert.Raw}
	banks := measure.Banks{measure.SHA1, measure.SHA256}
	for _, c := range []struct {
		name  string
		store *authenticode.Store
	}{
		{"one order", store([]*ukitest.Key{ca, other}, "sbat,1,2024010200\nshim,4\ngrub,3\n")},
		{"other order", store([]*ukitest.Key{other, ca, ca}, "sbat,1,2024010200\ngrub,3\nshim,4\n")},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := trustPolicy{mode: stub.VerifyEnforce, lockdown: "integrity", store: c.store}
			got := tp.policyEvents(banks, verdict)
			if len(got) != len(wantData) {
				t.Fatalf("%d events, want %d", len(got), len(wantData))
			}
			for i, e := range got {
				s1, s256 := sha1.Sum(wantData[i]), sha256.Sum256(wantData[i])
				if e.PCR != 7 || e.Type != measure.EvIPL || e.Description != wantDesc[i] || e.Size != int64(len(wantData[i])) ||
					!bytes.Equal(e.Digests[measure.SHA1], s1[:]) || !bytes.Equal(e.Digests[measure.SHA256], s256[:]) {
					t.Errorf("event %d: PCR %d %v %q size %d, want PCR 7 EV_IPL %q size %d, digests of %q", i, e.PCR, e.Type, e.Description, e.Size, wantDesc[i], len(wantData[i]), wantData[i][:min(len(wantData[i]), 40)])
				}
			}
		})
	}
}

// TestPolicyEventsAuthority: the authority event names the db entry that
// allowed the UKI; an unverified or untrusted UKI has none; a list that
// cannot be serialized is measured as an error, never as nothing.
func TestPolicyEventsAuthority(t *testing.T) {
	banks := measure.Banks{measure.SHA256}
	digest := bytes.Repeat([]byte{0x42}, 32)
	bad := authenticode.NewStore()
	bad.DBX.ImageHashes["abcd"] = true
	for _, c := range []struct {
		name  string
		store *authenticode.Store
		v     *authenticode.Verdict
		descs []string
	}{
		{"verification off", nil, nil, []string{"ukiboot policy", "db", "dbx", "SbatLevel"}},
		{"untrusted", nil, &authenticode.Verdict{Status: authenticode.Untrusted}, []string{"ukiboot policy", "db", "dbx", "SbatLevel"}},
		{"image digest in db", nil, &authenticode.Verdict{Status: authenticode.Trusted, AnchorDigest: digest}, []string{"ukiboot policy", "db", "dbx", "SbatLevel", "db authority: image digest"}},
		{"trusted without its entry", nil, &authenticode.Verdict{Status: authenticode.Trusted}, []string{"ukiboot policy", "db", "dbx", "SbatLevel", "db authority: unknown"}},
		{"dbx that cannot be serialized", bad, nil, []string{"ukiboot policy", "db", "dbx (cannot be serialized)", "SbatLevel"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := trustPolicy{mode: stub.VerifyReport, store: c.store}.policyEvents(banks, c.v)
			var descs []string
			for _, e := range got {
				descs = append(descs, e.Description)
			}
			if !slices.Equal(descs, c.descs) {
				t.Fatalf("events %q, want %q", descs, c.descs)
			}
			if c.v != nil && c.v.AnchorDigest != nil {
				if d := sha256.Sum256(digest); !bytes.Equal(got[4].Digests[measure.SHA256], d[:]) {
					t.Errorf("authority digest %x", got[4].Digests[measure.SHA256])
				}
			}
			if d := sha256.Sum256([]byte("ukiboot-policy-format=1\nverify=report\nlockdown=absent\n")); !bytes.Equal(got[0].Digests[measure.SHA256], d[:]) {
				t.Errorf("policy record digest %x", got[0].Digests[measure.SHA256])
			}
			if strings.Contains(c.name, "serialized") && bytes.Equal(got[2].Digests[measure.SHA256], measure.Sum(banks, nil)[measure.SHA256]) {
				t.Error("the unserializable dbx was measured as an empty one")
			}
		})
	}
}
