package authenticode_test

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// swapSectionHeaders exchanges two entries of the section table, so that
// the table is no longer in file order.
func swapSectionHeaders(img []byte, l ukitest.Layout, i, j int) []byte {
	out := bytes.Clone(img)
	a, b := l.SectionHeaders[i], l.SectionHeaders[j]
	copy(out[a:a+40], img[b:b+40])
	copy(out[b:b+40], img[a:a+40])
	return out
}

// noCertDirectory makes the optional header list four data directories,
// so that there is no certificate-table entry.
func noCertDirectory(img []byte, l ukitest.Layout) []byte {
	out := bytes.Clone(img)
	binary.LittleEndian.PutUint32(out[l.OptOffset+108:], 4)
	return out
}

func gapSections() []ukitest.Section {
	return []ukitest.Section{
		ukitest.S(".osrel", "ID=gaps\n"),
		{Name: ".cmdline", Data: []byte("console=ttyS0"), Gap: 0x200},
		ukitest.B(".linux", bytes.Repeat([]byte("K"), 3000)),
		{Name: ".initrd", Data: bytes.Repeat([]byte("I"), 700), Gap: 0x600},
	}
}

// layouts are PE images whose digests the spec computes in all the ways
// there are: gaps (hashed again or not at all), trailing data, the
// section table out of file order, sections without raw data, no
// certificate directory, a certificate table.
func layouts() map[string][]byte {
	plain := []ukitest.Section{ukitest.S(".osrel", "ID=x\n"), ukitest.B(".linux", bytes.Repeat([]byte("L"), 2000)), ukitest.S(".initrd", "INITRD")}
	gaps := gapSections()
	gapFirst := append([]ukitest.Section{{Name: ".osrel", Data: []byte("ID=first\n"), Gap: 0x400}}, plain[1:]...)
	withEmpty := []ukitest.Section{ukitest.S(".osrel", "ID=x\n"), {Name: ".dtb", VirtualSize: 64}, ukitest.B(".linux", []byte("KERNEL")), {Name: ".ucode", VirtualSize: 16}}
	gapsEmpty := []ukitest.Section{ukitest.S(".osrel", "ID=x\n"), {Name: ".dtb", VirtualSize: 64}, {Name: ".linux", Data: []byte("KERNEL"), Gap: 0x200}}
	tiny := []ukitest.Section{{Name: ".linux", Data: []byte("K"), Gap: 8}, {Name: ".initrd", Data: []byte("I"), RawSize: 3, Gap: 5}}

	out := map[string][]byte{}
	build := func(name string, im ukitest.Image) ([]byte, ukitest.Layout) {
		b, l := im.Build()
		out[name] = b
		return b, l
	}
	_, plainLayout := build("no gaps", ukitest.Image{Sections: plain})
	build("no gaps, trailing data", ukitest.Image{Sections: plain, Trailer: []byte("trailing data no section covers")})
	build("no gaps, certificate table", ukitest.Image{Sections: plain, CertTable: ukitest.WinCert(2, []byte("not a signature"))})
	build("no gaps, trailing data and certificate table", ukitest.Image{Sections: plain, Trailer: []byte("tail"), CertTable: ukitest.WinCert(2, []byte("sig"))})
	gapImg, gapLayout := build("gaps between sections", ukitest.Image{Sections: gaps})
	build("gap before the first section", ukitest.Image{Sections: gapFirst})
	build("gaps, trailing data", ukitest.Image{Sections: gaps, Trailer: bytes.Repeat([]byte("T"), 100)})
	build("gaps, certificate table", ukitest.Image{Sections: gaps, CertTable: ukitest.WinCert(2, bytes.Repeat([]byte("S"), 300))})
	build("gaps, trailing data and certificate table", ukitest.Image{Sections: gaps, Trailer: []byte("tail"), CertTable: ukitest.WinCert(2, []byte("sig"))})
	build("gaps larger than the trailing data", ukitest.Image{Sections: gaps, Trailer: []byte("t")})
	build("gaps, unaligned raw sizes", ukitest.Image{Sections: tiny, FileAlignment: 1})
	build("sections without raw data", ukitest.Image{Sections: withEmpty})
	build("sections without raw data, gaps", ukitest.Image{Sections: gapsEmpty, Trailer: []byte("tail")})
	out["section table out of file order"] = swapSectionHeaders(out["no gaps"], plainLayout, 0, 2)
	out["section table out of file order, gaps"] = swapSectionHeaders(gapImg, gapLayout, 1, 3)
	out["no certificate directory"] = noCertDirectory(out["no gaps, trailing data"], plainLayout)
	out["no certificate directory, gaps"] = noCertDirectory(gapImg, gapLayout)
	return out
}

// TestDigestFollowsSpec compares the package's digest, computed while the
// file streams through in chunks of every size, with the spec's steps.
func TestDigestFollowsSpec(t *testing.T) {
	for name, img := range layouts() {
		t.Run(name, func(t *testing.T) {
			f := parse(t, img)
			for _, alg := range authenticode.Algorithms {
				want := ukitest.SpecDigest(img, alg)
				d, err := authenticode.Digests(f, bytes.NewReader(img), alg)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(d[alg], want) {
					t.Errorf("%v: Digests %x, the spec's %x", alg, d[alg], want)
				}
				for _, chunk := range []int{1, 7, 512, 4096} {
					l, err := authenticode.LayoutOf(f)
					if err != nil {
						t.Fatal(err)
					}
					h := authenticode.NewHasher(l, alg)
					for p := img; len(p) > 0; p = p[min(chunk, len(p)):] {
						h.Write(p[:min(chunk, len(p))])
					}
					d, err := h.Digests(bytes.NewReader(img))
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(d[alg], want) {
						t.Errorf("%v in chunks of %d: %x, the spec's %x", alg, chunk, d[alg], want)
					}
				}
			}
		})
	}
}

// TestHasherRereadsFromCopy: the bytes hashed a second time come from the
// copy given to Digests, and there must be one.
func TestHasherRereadsFromCopy(t *testing.T) {
	img := ukitest.Image{Sections: gapSections()}.Bytes()
	f := parse(t, img)
	l, err := authenticode.LayoutOf(f)
	if err != nil {
		t.Fatal(err)
	}
	h := authenticode.NewHasher(l, crypto.SHA256)
	h.Write(img)
	if _, err := h.Digests(nil); err == nil {
		t.Fatal("no copy to hash the gap-shifted range from, and no error")
	}
	d, err := h.Digests(bytes.NewReader(img))
	if err != nil || !bytes.Equal(d[crypto.SHA256], ukitest.SpecDigest(img, crypto.SHA256)) {
		t.Fatalf("digest %x, %v", d[crypto.SHA256], err)
	}
	if d2, err := h.Digests(nil); err != nil || !bytes.Equal(d2[crypto.SHA256], d[crypto.SHA256]) {
		t.Errorf("second call: %x, %v", d2[crypto.SHA256], err)
	}
}

// TestLayoutRules: what the spec's digest leaves unsigned decides what is
// refused. Gaps are accepted; what would leave used bytes unsigned is not.
func TestLayoutRules(t *testing.T) {
	le := binary.LittleEndian
	img, l := ukitest.Image{Sections: []ukitest.Section{ukitest.S(".osrel", "ID=x\n"), ukitest.S(".linux", "K")}}.Build()
	sizeOfHeaders := func(v uint32) []byte {
		b := bytes.Clone(img)
		le.PutUint32(b[l.OptOffset+60:], v)
		return b
	}
	tableEnd := uint32(l.SectionTableOffset + 40*len(l.SectionHeaders))
	cases := []struct {
		name string
		img  []byte
		why  string // "" when accepted
	}{
		{"gaps between sections", ukitest.Image{Sections: gapSections()}.Bytes(), ""},
		{"no certificate directory", noCertDirectory(img, l), ""},
		{"SizeOfHeaders ends inside the section table", sizeOfHeaders(tableEnd - 1), "does not cover the section table"},
		{"SizeOfHeaders past the first section's start", sizeOfHeaders(uint32(l.SectionData[0]) + 8), "starts inside the headers"},
		{"SizeOfHeaders past the end of the file", sizeOfHeaders(uint32(len(img)) + 1), "exceeds the file"},
		{"data after the certificate table", append(ukitest.AttachSignatures(img, []byte("sig")), "appended"...), "after the certificate table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := uki.Read(bytes.NewReader(c.img), int64(len(c.img)), "test.efi", uki.KindAuto)
			if err != nil {
				t.Fatal(err)
			}
			_, err = authenticode.LayoutOf(f)
			switch {
			case c.why == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.why != "" && (!errors.Is(err, authenticode.ErrLayout) || !strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "test.efi")):
				t.Errorf("error %v, want ErrLayout naming test.efi saying %q", err, c.why)
			}
		})
	}
}

// TestGapsSigned: images with gaps between sections, signed with the
// spec's digest, are trusted; bytes the digest covers (including those it
// hashes twice) cannot change, gap bytes that no step hashes can (nothing
// uses them).
func TestGapsSigned(t *testing.T) {
	k := keys(t)
	db := storeWith(k.ca)
	for _, trailer := range []string{"", "trailing data"} {
		img := ukitest.PadTo8(ukitest.Image{Sections: gapSections(), Trailer: []byte(trailer)}.Bytes())
		signed := ukitest.AttachSignatures(img, ukitest.PKCS7(ukitest.SpecDigest(img, crypto.SHA256), crypto.SHA256, k.leaf))
		f := parse(t, signed)
		initrd := f.Section(".initrd")
		// The gap before .cmdline lies before SUM_OF_BYTES_HASHED and is
		// hashed by no step; the end of the gap before .initrd lies after
		// it and is hashed by step 3.
		unhashedGap := int(f.Section(".cmdline").PointerToRawData) - 1
		hashedGap := int(initrd.PointerToRawData) - 1
		if signed[unhashedGap] != ukitest.GapByte || signed[hashedGap] != ukitest.GapByte {
			t.Fatalf("bytes %d, %d are not in gaps", unhashedGap, hashedGap)
		}
		flip := func(off int) []byte { b := bytes.Clone(signed); b[off] ^= 1; return b }
		cases := []struct {
			name    string
			img     []byte
			trusted bool
		}{
			{"as signed", signed, true},
			{"gap byte that no step hashes changed", flip(unhashedGap), true},
			{"gap byte that step 3 hashes changed", flip(hashedGap), false},
			{"byte of the last section hashed twice changed", flip(int(initrd.PointerToRawData + initrd.SizeOfRawData - 1)), false},
			{"first byte of .initrd changed", flip(int(initrd.PointerToRawData)), false},
		}
		if trailer != "" {
			cases = append(cases, struct {
				name    string
				img     []byte
				trusted bool
			}{"trailing byte changed", flip(int(f.Header.CertTable().VirtualAddress) - 2), false})
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("trailer %q/%s", trailer, c.name), func(t *testing.T) {
				v := verify(t, c.img, db)
				if (v.Status == authenticode.Trusted) != c.trusted {
					t.Errorf("verdict %v, want trusted=%v", v, c.trusted)
				}
			})
		}
	}
}

// TestGapOracles signs an image with gaps between sections with sbsign
// and osslsigncode, and verifies the spec's signature with sbverify and
// osslsigncode. ukiboot must follow the spec whatever the tools do; where
// a tool departs from the spec the test says so (t.Log) and goes on.
func TestGapOracles(t *testing.T) {
	sbsign := ukitest.Need(t, "sbsign")
	sbverify := ukitest.Need(t, "sbverify")
	osslsigncode := ukitest.Need(t, "osslsigncode")
	k := keys(t)
	dir := t.TempDir()
	caPEM := writePEM(t, dir, "ca.pem", k.ca.Cert.Raw)
	certPath, keyPath := writeKey(t, t.TempDir(), k.leaf)
	unsigned := filepath.Join(dir, "gaps.efi")
	img := ukitest.PadTo8(ukitest.Image{Sections: gapSections()}.Bytes())
	if err := os.WriteFile(unsigned, img, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		return string(out), err
	}

	signers := []struct {
		tool string
		args func(out string) []string
	}{
		{"sbsign", func(out string) []string {
			return []string{sbsign, "--key", keyPath, "--cert", certPath, "--output", out, unsigned}
		}},
		{"osslsigncode sign", func(out string) []string {
			return []string{osslsigncode, "sign", "-certs", certPath, "-key", keyPath, "-h", "sha256", "-in", unsigned, "-out", out}
		}},
	}
	for _, s := range signers {
		t.Run(s.tool, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "signed.efi")
			args := s.args(out)
			if msg, err := run(args[0], args[1:]...); err != nil {
				t.Fatalf("%s: %v\n%s", s.tool, err, msg)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			certs, err := parse(t, b).Certificates()
			if err != nil || len(certs) != 1 {
				t.Fatalf("certificate table: %v %v", certs, err)
			}
			sig, err := authenticode.ParseSignature(certs[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			spec := bytes.Equal(sig.ImageDigest, ukitest.SpecDigest(b, sig.DigestAlgorithm))
			v := verify(t, b, storeWith(k.ca))
			if (v.Status == authenticode.Trusted) != spec {
				t.Errorf("signed with the spec's digest: %v; ukiboot's verdict: %v", spec, v)
			}
			if !spec {
				t.Logf("DISAGREEMENT: %s signs an image with gaps between sections with a digest other than the PE specification's; ukiboot (like EDK2) refuses it: %v", s.tool, v)
			}
		})
	}

	signed := filepath.Join(dir, "spec-signed.efi")
	if err := os.WriteFile(signed, ukitest.AttachSignatures(img, ukitest.PKCS7(ukitest.SpecDigest(img, crypto.SHA256), crypto.SHA256, k.leaf)), 0o644); err != nil {
		t.Fatal(err)
	}
	verifiers := []struct {
		tool string
		args []string
	}{
		{"sbverify", []string{sbverify, "--cert", caPEM, signed}},
		{"osslsigncode verify", []string{osslsigncode, "verify", "-CAfile", caPEM, "-in", signed}},
	}
	for _, vf := range verifiers {
		t.Run(vf.tool, func(t *testing.T) {
			if msg, err := run(vf.args[0], vf.args[1:]...); err != nil {
				t.Logf("DISAGREEMENT: %s refuses an image with gaps between sections signed with the PE specification's digest (which EDK2 and ukiboot accept): %v\n%s", vf.tool, err, msg)
			}
		})
	}
}
