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
// over the file) and boots; PCR 11 follows the 252 stub, which does not
// measure .sbat.
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
	// systemd-stub 252 does not measure .sbat (nor .uname): its PCR 11
	// rules are the 252 row, whatever sections the UKI carries.
	if want := "systemd-stub 252 rules (.sdmagic says systemd-stub 252.39-1~deb12u2): .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey"; p.PCR11Rule != want {
		t.Errorf("PCR 11 rule %q, want %q", p.PCR11Rule, want)
	}
	var names []string
	for _, m := range p.Events {
		if m.PCR == stub.PCRKernelBoot && sha(m) == sha256.Sum256([]byte(m.Description+"\x00")) {
			names = append(names, m.Description)
		}
	}
	if got := strings.Join(names, " "); got != ".linux .osrel .cmdline" {
		t.Errorf("PCR 11 sections %q, want .linux .osrel .cmdline", got)
	}
}
