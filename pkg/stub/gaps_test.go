package stub_test

import (
	"bytes"
	"crypto"
	"errors"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// specSigned lays out secs with gaps as given and signs the image with
// the PE specification's digest, computed apart from pkg/authenticode.
func specSigned(key *ukitest.Key, secs ...ukitest.Section) []byte {
	img := ukitest.PadTo8(ukitest.Image{Sections: secs}.Bytes())
	return ukitest.AttachSignatures(img, ukitest.PKCS7(ukitest.SpecDigest(img, crypto.SHA256), crypto.SHA256, key))
}

// TestGapsVerified: a UKI and an addon with gaps between their sections,
// signed with the spec's digest, are trusted when booted: the digest's
// last range, which goes back into the sections, is hashed from the
// private copy.
func TestGapsVerified(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "Distro Secure Boot Signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	enforce := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: store}}
	kernel := bytes.Repeat([]byte("KERNEL"), 500)
	ukiImg := specSigned(key,
		ukitest.S(".osrel", "ID=gaps\n"),
		ukitest.Section{Name: ".cmdline", Data: []byte("quiet"), Gap: 0x200},
		ukitest.S(".uname", "6.1"),
		ukitest.Section{Name: ".linux", Data: kernel, Gap: 0x400})
	addon := specSigned(key, ukitest.Section{Name: ".cmdline", Data: []byte("from-addon=1"), Gap: 0x200})

	esp := t.TempDir()
	write(t, esp, "EFI/Linux/gaps.efi", ukiImg)
	write(t, esp, "EFI/Linux/gaps.efi.extra.d/gaps.addon.efi", addon)
	p, err := stub.Build(target(t, esp, "gaps.efi"), enforce)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Verdict.Status != authenticode.Trusted {
		t.Errorf("verdict %v", p.Verdict)
	}
	if p.Cmdline != "quiet from-addon=1" {
		t.Errorf("cmdline %q (notes %q): the addon with gaps was not used", p.Cmdline, p.Notes)
	}
	if got := readAll(t, p.Kernel); !bytes.Equal(got, kernel) {
		t.Errorf("kernel is %d bytes, want %d", len(got), len(kernel))
	}

	// The bytes hashed twice are covered: change the last byte of .linux
	// (raw padding, hashed by the sections' step and again by the extra
	// data's) and the UKI is refused.
	f, err := uki.Read(bytes.NewReader(ukiImg), int64(len(ukiImg)), "gaps.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	linux := f.Section(".linux")
	tampered := bytes.Clone(ukiImg)
	tampered[linux.PointerToRawData+linux.SizeOfRawData-1] ^= 1
	write(t, esp, "EFI/Linux/gaps.efi", tampered)
	_, err = stub.Build(target(t, esp, "gaps.efi"), enforce)
	var ue *stub.UntrustedError
	if !errors.As(err, &ue) || !strings.Contains(ue.Verdict.Reason, "does not match this image") {
		t.Errorf("tampered padding of .linux: %v", err)
	}
}
