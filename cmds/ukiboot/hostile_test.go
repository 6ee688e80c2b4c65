package main

// Hostile firmware state and files for policy() and the SbatLevel loader,
// found by an adversarial review (each failed before its fix).

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// In UEFI Setup Mode (no PK enrolled; also Audit/Custom Mode) the firmware
// accepts writes to db without a KEK signature, so root of the previously
// booted OS can put its own certificate into the efivarfs db. ukiboot
// merges that db into the ROM's trust store and, enforcing because the ROM
// has a db, trusts a UKI signed by the attacker's key.
func TestHostileSetupModeDB(t *testing.T) {
	p := sbatPlatform(t)
	owner := ukitest.NewCA(t, "ROM owner CA", false)
	attacker := ukitest.NewCA(t, "attacker", false)
	attackerLeaf := ukitest.NewLeaf(t, "attacker signer", false, attacker)
	if err := os.MkdirAll(filepath.Join(p.trustDir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(p.trustDir, "db", "owner.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: owner.Cert.Raw}))
	// Firmware state: Setup Mode, Secure Boot off. db written by root.
	gv := func(name string) string { return filepath.Join(p.efivarsDir, name+"-"+authenticode.GlobalVariableGUID) }
	write(t, gv("SetupMode"), []byte{6, 0, 0, 0, 1})
	write(t, gv("SecureBoot"), []byte{6, 0, 0, 0, 0})
	x509 := authenticode.GUIDBytes("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	write(t, filepath.Join(p.efivarsDir, "db-"+authenticode.ImageSecurityDatabaseGUID),
		append([]byte{0x27, 0, 0, 0}, ukitest.SignatureList(x509, attacker.Cert.Raw)...))

	v, why, err := p.policy(&options{verify: "auto"})
	if err != nil {
		t.Logf("policy refused (fail-closed): %v", err)
		return
	}
	if v.Mode.String() != "enforce" {
		t.Fatalf("control: mode %v (%s)", v.Mode, why)
	}
	img := signedUKI(t, attackerLeaf, ukitest.S(".osrel", "ID=evil\n"), ukitest.S(".linux", "K"))
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "evil.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	if verdict := authenticode.VerifyFile(f, bytes.NewReader(img), v.Store); verdict.Status == authenticode.Trusted {
		t.Errorf("enforcing (%s), a UKI signed by a key root added to the Setup-Mode efivarfs db is trusted: %v", why, verdict)
	}
}

// The SbatLevel loader opens its files with a blocking open(2) and checks
// the type only afterwards: a FIFO at /etc/ukiboot/sbatlevel, or given as
// -sbatlevel, hangs ukiboot before the menu (the trust-store files use
// O_NONBLOCK for exactly this reason).
func TestHostileSbatLevelFIFO(t *testing.T) {
	p := sbatPlatform(t)
	fifo := filepath.Join(t.TempDir(), "level.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := p.sbatLevel(&options{sbatLevel: stringList{fifo}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a FIFO was accepted as an SbatLevel")
		}
	case <-time.After(3 * time.Second):
		t.Error("-sbatlevel FIFO: sbatLevel still blocked after 3s (open(2) without O_NONBLOCK)")
		// Unblock the reader so the goroutine ends.
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
	}
}
