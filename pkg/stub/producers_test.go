package stub_test

import (
	"crypto"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// TestPlanUkify255Stub252: a signed UKI that ukify v255 built on a systemd
// 252 stub (.sbat grown over .sdmagic in memory) verifies (the digest is
// over the file) and boots; PCR 11 measures .sbat as it is in memory once
// firmware loaded the sections in table order, as systemd-stub's
// measure_sections does (ImageBase + VirtualAddress, VirtualSize bytes).
func TestPlanUkify255Stub252(t *testing.T) {
	sbat := ukitest.Ukify255SBAT(ukitest.Stub252SBAT,
		"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"+
			"linux,1,The Linux Developers,linux,6.1.0,https://linux.org\n"+
			"linux.debian,1,Debian,linux,6.1.0-28-amd64,https://tracker.debian.org/pkg/linux\n")
	im, err := ukitest.Ukify255(ukitest.Stub252(),
		ukitest.S(".osrel", "ID=debian\nVERSION_ID=12\n"),
		ukitest.S(".cmdline", "root=/dev/sda2 ro"),
		ukitest.S(".sbat", sbat),
		ukitest.S(".linux", strings.Repeat("K", 4096)))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := im.Build()
	img = ukitest.PadTo8(img)
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "Debian Secure Boot Signer", false, ca)
	img = ukitest.AttachSignatures(img, ukitest.PKCS7(ukitest.SpecDigest(img, crypto.SHA256), crypto.SHA256, key))
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/debian-6.1.0-28-amd64.efi", img)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)

	p, err := stub.Build(target(t, esp, "debian-6.1.0-28-amd64.efi"), stub.Policy{Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: store}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Verdict == nil || p.Verdict.Status != authenticode.Trusted {
		t.Errorf("verdict %v, want trusted", p.Verdict)
	}
	if p.Cmdline != "root=/dev/sda2 ro" {
		t.Errorf("cmdline %q", p.Cmdline)
	}
	mem := []byte(sbat)
	copy(mem[0x100:], ukitest.Stub252Magic)
	found := false
	for i, m := range p.Measurements {
		if m.PCR == stub.PCRKernelBoot && m.Description == ".sbat" && m.SHA256 == sha256.Sum256([]byte(".sbat\x00")) {
			found = true
			if got := p.Measurements[i+1]; got.SHA256 != sha256.Sum256(mem) || got.Size != int64(len(sbat)) {
				t.Errorf(".sbat measured as %x (%d bytes), want the loaded bytes %x (%d)", got.SHA256, got.Size, sha256.Sum256(mem), len(mem))
			}
		}
	}
	if !found {
		t.Errorf("no .sbat in PCR 11: %+v", p.Measurements)
	}
}
