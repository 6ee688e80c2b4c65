package stub_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

func signed(t *testing.T, key *ukitest.Key, secs ...ukitest.Section) []byte {
	return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
}

func TestVerification(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "Distro Secure Boot Signer", false, ca)
	stranger := ukitest.NewCA(t, "stranger", false)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	enforce := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: store}}
	report := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyReport, Store: store}}

	esp := t.TempDir()
	secs := []ukitest.Section{ukitest.S(".osrel", "ID=good\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".uname", "6.1"), ukitest.S(".linux", "KERNEL")}
	write(t, esp, "EFI/Linux/good.efi", signed(t, key, secs...))
	write(t, esp, "EFI/Linux/good.efi.extra.d/ok.addon.efi", signed(t, key, ukitest.S(".cmdline", "signed-addon=1")))
	write(t, esp, "EFI/Linux/good.efi.extra.d/rogue.addon.efi", signed(t, stranger, ukitest.S(".cmdline", "init=/bin/sh")))
	write(t, esp, "EFI/Linux/unsigned.efi", ukitest.UKI(ukitest.S(".osrel", "ID=unsigned\n"), ukitest.S(".linux", "K")))
	write(t, esp, "vmlinuz", []byte("K"))
	write(t, esp, "loader/entries/t1.conf", []byte("linux /vmlinuz\n"))

	p, err := stub.Build(target(t, esp, "good.efi"), enforce)
	if err != nil {
		t.Fatal(err)
	}
	if p.Verdict == nil || p.Verdict.Status != authenticode.Trusted || !strings.Contains(p.Verdict.Signer, "Distro Secure Boot Signer") {
		t.Errorf("verdict %v", p.Verdict)
	}
	if p.Cmdline != "quiet signed-addon=1" || !strings.Contains(strings.Join(p.Notes, "\n"), "rogue.addon.efi skipped") {
		t.Errorf("cmdline %q notes %q", p.Cmdline, p.Notes)
	}
	p.Close()

	_, err = stub.Build(target(t, esp, "unsigned.efi"), enforce)
	var ue *stub.UntrustedError
	if !errors.As(err, &ue) || ue.Verdict.Status != authenticode.Unsigned {
		t.Errorf("unsigned under enforcement: %v", err)
	}
	if _, err := stub.Build(target(t, esp, "t1.conf"), enforce); err == nil || !strings.Contains(err.Error(), "type #1") {
		t.Errorf("type #1 under enforcement: %v", err)
	}

	// Reporting: the verdict is known, the boot goes on.
	p, err = stub.Build(target(t, esp, "unsigned.efi"), report)
	if err != nil || p.Verdict.Status != authenticode.Unsigned || !strings.Contains(strings.Join(p.Notes, " "), "booting anyway") {
		t.Fatalf("report: %v %v", err, p)
	}
	p.Close()
	p, err = stub.Build(target(t, esp, "good.efi"), report)
	if err != nil || !strings.Contains(p.Cmdline, "init=/bin/sh") {
		t.Errorf("report mode uses untrusted addons (with a note): %v %q", err, p.Cmdline)
	}
	p.Close()

	// A file tampered with after it was listed is judged on what is read.
	e := target(t, esp, "good.efi")
	b := signed(t, key, ukitest.S(".osrel", "ID=good\n"), ukitest.S(".cmdline", "quiet init=/evil"), ukitest.S(".uname", "6.1"), ukitest.S(".linux", "KERNEL"))
	f, _ := uki.Read(bytes.NewReader(b), int64(len(b)), "x", uki.KindUKI)
	b[f.Section(".cmdline").PointerToRawData+6] = 'X' // after signing
	write(t, esp, "EFI/Linux/good.efi", b)
	if _, err := stub.Build(e, enforce); !errors.As(err, &ue) {
		t.Errorf("tampered: %v", err)
	}
}
