package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

func signedUKI(t *testing.T, key *ukitest.Key, secs ...ukitest.Section) []byte {
	return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
}

// verifyTree makes an ESP with a signed UKI (newest), an unsigned one and
// a type #1 entry, plus a db directory with the CA.
func verifyTree(t *testing.T) (esp, db string) {
	ca := ukitest.NewCA(t, "Fleet db CA", false)
	key := ukitest.NewLeaf(t, "Fleet Signer", false, ca)
	esp, db = t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(db, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	os.MkdirAll(filepath.Join(esp, "loader/entries"), 0o755)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-2.efi"), ukitest.UKI(ukitest.S(".osrel", "ID=os\nVERSION_ID=2\n"), ukitest.S(".cmdline", "unsigned"), ukitest.S(".linux", "K2")), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-1.efi"), signedUKI(t, key, ukitest.S(".osrel", "ID=os\nVERSION_ID=1\n"), ukitest.S(".cmdline", "signed"), ukitest.S(".linux", "K1")), 0o644)
	os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("K0"), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/plain.conf"), []byte("title Plain\nlinux /vmlinuz\n"), 0o644)
	return esp, db
}

func noPlatform(t *testing.T) platform {
	d := t.TempDir()
	return platform{lockdownPath: filepath.Join(d, "lockdown"), efivarsDir: filepath.Join(d, "efivars"), trustDir: filepath.Join(d, "etc")}
}

func TestVerifiedBoot(t *testing.T) {
	esp, db := verifyTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	// A trust store configured: enforced. The unsigned UKI (the default by
	// version) and the type #1 entry are refused; the signed one boots.
	if rc := runWith([]string{"-auto", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d\n%s", rc, stderr.String())
	}
	if len(f.loads) != 1 || string(f.loads[0].kernel) != "K1" || f.loads[0].cmdline != "signed" {
		t.Fatalf("loads %+v\n%s", f.loads, stderr.String())
	}
	log := stderr.String()
	for _, want := range []string{"verification: enforce (a trust store is configured)", "cannot boot os-2.efi", "unsigned: no signature", "trusted (signed by CN=Fleet Signer"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// -append is refused for the signed UKI with .cmdline: nothing boots.
	f2 := &fakeSystem{platform: noPlatform(t)}
	stderr.Reset()
	if rc := runWith([]string{"-auto", "-db", db, "-append", "init=/bin/sh", "-root", esp}, &stdout, &stderr, f2.sys()); rc == 0 || len(f2.loads) != 0 {
		t.Errorf("-append under enforcement booted: rc %d %+v", rc, f2.loads)
	}
	if !strings.Contains(stderr.String(), "-append refused") {
		t.Errorf("log:\n%s", stderr.String())
	}
	// -verify off boots the newest, unsigned.
	f3 := &fakeSystem{platform: noPlatform(t)}
	if rc := runWith([]string{"-auto", "-verify", "off", "-db", db, "-root", esp}, &stdout, &stderr, f3.sys()); rc != 0 || string(f3.loads[0].kernel) != "K2" {
		t.Errorf("-verify off: rc %d %+v", rc, f3.loads)
	}
}

func TestPolicyAuto(t *testing.T) {
	p := noPlatform(t)
	o := &options{verify: "auto"}
	if v, why, _ := p.policy(o); v.Mode.String() != "report" || !strings.Contains(why, "report only") {
		t.Errorf("nothing configured: %v %q", v.Mode, why)
	}
	os.WriteFile(p.lockdownPath, []byte("none [integrity] confidentiality\n"), 0o644)
	if v, why, _ := p.policy(o); v.Mode.String() != "enforce" || !strings.Contains(why, "locked down (integrity)") {
		t.Errorf("lockdown: %v %q", v.Mode, why)
	}
	os.WriteFile(p.lockdownPath, []byte("[none] integrity confidentiality\n"), 0o644)
	os.MkdirAll(p.efivarsDir, 0o755)
	os.WriteFile(filepath.Join(p.efivarsDir, "SecureBoot-"+authenticode.GlobalVariableGUID), []byte{6, 0, 0, 0, 1}, 0o644)
	if v, why, _ := p.policy(o); v.Mode.String() != "enforce" || why != "Secure Boot is enabled" {
		t.Errorf("secure boot: %v %q", v.Mode, why)
	}
	os.Remove(filepath.Join(p.efivarsDir, "SecureBoot-"+authenticode.GlobalVariableGUID))
	os.MkdirAll(filepath.Join(p.trustDir, "db"), 0o755)
	ca := ukitest.NewCA(t, "rom", false)
	os.WriteFile(filepath.Join(p.trustDir, "db", "rom.der"), ca.Cert.Raw, 0o644)
	if v, why, _ := p.policy(o); v.Mode.String() != "enforce" || why != "a trust store is configured" || len(v.Store.DB.Certs) != 1 {
		t.Errorf("rom store: %v %q", v.Mode, why)
	}
	if _, _, err := p.policy(&options{verify: "sometimes"}); err == nil {
		t.Error("bad -verify accepted")
	}
	if _, _, err := p.policy(&options{verify: "auto", db: stringList{"/nonexistent/db"}}); err == nil || !strings.Contains(err.Error(), "/nonexistent/db") {
		t.Errorf("missing -db: %v", err)
	}
}

func TestListAndInspectShowVerdicts(t *testing.T) {
	esp, db := verifyTree(t)
	f := &fakeSystem{platform: noPlatform(t)}
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-json", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d %s", rc, stderr.String())
	}
	var got []map[string]any
	json.Unmarshal(stdout.Bytes(), &got)
	want := map[string][3]string{
		"os-1.efi":   {"ok", "trusted", "CN=Fleet Signer,O=ukiboot tests"},
		"os-2.efi":   {"untrusted", "unsigned", ""},
		"plain.conf": {"untrusted", "", ""},
	}
	for _, e := range got {
		w := want[e["id"].(string)]
		sig, _ := e["signer"].(string)
		verdict, _ := e["verdict"].(string)
		if e["status"] != w[0] || verdict != w[1] || sig != w[2] {
			t.Errorf("%v: status %v verdict %q signer %q, want %v", e["id"], e["status"], verdict, sig, w)
		}
		if e["id"] == "os-1.efi" && e["default"] != true {
			t.Errorf("the trusted entry should be the default")
		}
	}
	stdout.Reset()
	if rc := runWith([]string{"-inspect", filepath.Join(esp, "EFI/Linux/os-1.efi"), "-db", db}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("inspect rc %d", rc)
	}
	if !strings.Contains(stdout.String(), "verdict:    trusted (signed by CN=Fleet Signer") {
		t.Errorf("inspect:\n%s", stdout.String())
	}
}
