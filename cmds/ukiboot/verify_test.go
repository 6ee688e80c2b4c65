package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
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
	return platform{lockdownPath: filepath.Join(d, "lockdown"), efivarsDir: filepath.Join(d, "efivars"),
		mokVarsDir: filepath.Join(d, "mok-variables"), trustDir: filepath.Join(d, "etc")}
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
	if rc := runWith([]string{"-list", "-verify-all", "-json", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
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
		// Trust does not move the default (the newest version is it);
		// -auto passes over it.
		if e["id"] == "os-2.efi" && e["default"] != true {
			t.Errorf("the default should be os-2.efi, chosen as systemd-boot does, untrusted or not")
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

// sigList is one EFI_SIGNATURE_LIST of the given type holding entries of
// equal size.
func sigList(typ string, entries ...[]byte) []byte {
	g := authenticode.GUIDBytes(typ)
	b := append([]byte(nil), g[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(28+(16+len(entries[0]))*len(entries)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(16+len(entries[0])))
	for _, e := range entries {
		b = append(b, make([]byte, 16)...) // SignatureOwner
		b = append(b, e...)
	}
	return b
}

const (
	sigSHA256  = "c1c41626-504c-4092-aca9-41f936934328"
	sigX509    = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
	sigRSA2048 = "3c5766e8-269c-4e34-aa14-ed776e85b3b6"
)

// hashEntry is a distinct SHA-256 entry.
func hashEntry(n byte) []byte { return bytes.Repeat([]byte{n}, 32) }

func TestPolicyMOK(t *testing.T) {
	mokCA := ukitest.NewCA(t, "MOK CA", false)
	mokList := sigList(sigX509, mokCA.Cert.Raw)
	const (
		volatile    = 0x6 // BOOTSERVICE_ACCESS | RUNTIME_ACCESS, as shim sets them
		nonVolatile = 0x7
	)
	type file struct {
		name  string
		attrs uint32 // efivarfs files only
		data  []byte
	}
	efivar := func(name string, attrs uint32, data []byte) file {
		return file{name + "-" + authenticode.ShimLockGUID, attrs, data}
	}
	for _, tc := range []struct {
		name     string
		efivars  []file
		table    []file // the MOK configuration table (no attribute word)
		trustMOK bool
		wantErr  []string
		dbCerts  int
		revoked  []byte // hash entries expected in dbx
		notIn    []byte // hash entries expected absent from dbx
		note     string
	}{
		{name: "a volatile MokListRT without -trust-mok is not trusted",
			efivars: []file{efivar("MokListRT", volatile, mokList)},
			note:    "MokListRT-" + authenticode.ShimLockGUID + " not trusted: -trust-mok not given"},
		{name: "a volatile MokListRT with -trust-mok is trusted",
			efivars: []file{efivar("MokListRT", volatile, mokList)}, trustMOK: true, dbCerts: 1},
		{name: "a non-volatile MokListRT with -trust-mok is refused",
			efivars: []file{efivar("MokListRT", nonVolatile, mokList)}, trustMOK: true,
			wantErr: []string{"MokListRT-" + authenticode.ShimLockGUID, "non-volatile (attributes 0x7)", "written by the previously booted OS"}},
		{name: "a non-volatile split MokListRT1 with -trust-mok is refused",
			efivars: []file{efivar("MokListRT", volatile, mokList), efivar("MokListRT1", nonVolatile, sigList(sigSHA256, hashEntry(9)))}, trustMOK: true,
			wantErr: []string{"MokListRT1-" + authenticode.ShimLockGUID, "non-volatile"}},
		{name: "a non-volatile MokListRT without -trust-mok is ignored",
			efivars: []file{efivar("MokListRT", nonVolatile, mokList)}, note: "not trusted: -trust-mok not given"},
		{name: "MokListXRT split over MokListXRT1 and MokListXRT2 revokes every part, volatile or not",
			efivars: []file{
				efivar("MokListXRT", volatile, sigList(sigSHA256, hashEntry(1))),
				efivar("MokListXRT2", nonVolatile, sigList(sigSHA256, hashEntry(3))),
				efivar("MokListXRT1", volatile, sigList(sigSHA256, hashEntry(2), hashEntry(4))),
			},
			revoked: []byte{1, 2, 3, 4}},
		{name: "the config table's MokListXRT revokes and supersedes efivarfs",
			table:   []file{{name: "MokListXRT", data: sigList(sigSHA256, hashEntry(1))}},
			efivars: []file{efivar("MokListXRT", volatile, sigList(sigSHA256, hashEntry(2)))},
			revoked: []byte{1}, notIn: []byte{2}},
		{name: "the config table's MokListRT is trusted with -trust-mok, efivarfs is not read",
			table:   []file{{name: "MokListRT", data: mokList}},
			efivars: []file{efivar("MokListRT", nonVolatile, sigList(sigSHA256, hashEntry(5)))}, trustMOK: true, dbCerts: 1},
		{name: "the config table's MokListRT is not trusted without -trust-mok",
			table: []file{{name: "MokListRT", data: mokList}}, note: "mok-variables/MokListRT not trusted"},
		{name: "a config table without MokListXRT: efivarfs MokListXRT revokes",
			table:   []file{{name: "SbatLevelRT", data: []byte("sbat,1,2021030218\n")}},
			efivars: []file{efivar("MokListXRT", volatile, sigList(sigSHA256, hashEntry(2)))},
			revoked: []byte{2}},
		{name: "a config table MokListXRT that does not parse is an error",
			table:   []file{{name: "MokListXRT", data: sigList(sigSHA256, hashEntry(1))[:40]}},
			wantErr: []string{"mok-variables/MokListXRT", "byte 0: EFI_SIGNATURE_LIST size 76 does not fit"}},
		{name: "an efivarfs MokListXRT2 that does not parse is an error",
			efivars: []file{efivar("MokListXRT2", volatile, []byte{1, 2, 3})},
			wantErr: []string{"MokListXRT2-" + authenticode.ShimLockGUID, "byte 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := noPlatform(t)
			for _, f := range tc.efivars {
				os.MkdirAll(p.efivarsDir, 0o755)
				os.WriteFile(filepath.Join(p.efivarsDir, f.name), append(binary.LittleEndian.AppendUint32(nil, f.attrs), f.data...), 0o644)
			}
			for _, f := range tc.table {
				os.MkdirAll(p.mokVarsDir, 0o755)
				os.WriteFile(filepath.Join(p.mokVarsDir, f.name), f.data, 0o644)
			}
			v, _, err := p.policy(&options{verify: "auto", trustMOK: tc.trustMOK})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; db %d certificates", len(v.Store.DB.Certs))
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Store.DB.Certs) != tc.dbCerts {
				t.Errorf("db has %d certificates, want %d", len(v.Store.DB.Certs), tc.dbCerts)
			}
			for _, n := range tc.revoked {
				if !v.Store.DBX.ImageHashes[hex.EncodeToString(hashEntry(n))] {
					t.Errorf("hash %d not revoked; dbx %v from %v", n, v.Store.DBX.ImageHashes, v.Store.DBX.Sources)
				}
			}
			for _, n := range tc.notIn {
				if v.Store.DBX.ImageHashes[hex.EncodeToString(hashEntry(n))] {
					t.Errorf("hash %d read from efivarfs although the config table has MokListXRT", n)
				}
			}
			if notes := strings.Join(v.Store.Notes, "\n"); tc.note != "" && !strings.Contains(notes, tc.note) || tc.note == "" && notes != "" {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
}

// A MokListXRT in shim's config table revokes the CA of a signed UKI:
// -list shows it untrusted.
func TestMOKRevocationRefusesUKI(t *testing.T) {
	esp, db := verifyTree(t)
	block, _ := pem.Decode(must(os.ReadFile(filepath.Join(db, "ca.pem"))))
	f := &fakeSystem{platform: noPlatform(t)}
	os.MkdirAll(f.platform.mokVarsDir, 0o755)
	os.WriteFile(filepath.Join(f.platform.mokVarsDir, "MokListXRT"), sigList(sigX509, block.Bytes), 0o644)
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-verify-all", "-json", "-db", db, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d %s", rc, stderr.String())
	}
	var got []map[string]any
	json.Unmarshal(stdout.Bytes(), &got)
	found := false
	for _, e := range got {
		if e["id"] == "os-1.efi" {
			found = true
			if e["status"] != "untrusted" || e["verdict"] != "untrusted" {
				t.Errorf("os-1.efi signed under a CA revoked by MokListXRT: status %v verdict %v %v", e["status"], e["verdict"], e["error"])
			}
		}
	}
	if !found {
		t.Errorf("os-1.efi not listed: %s", stdout.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPolicyROMStoreSymlink(t *testing.T) {
	p := noPlatform(t)
	os.MkdirAll(p.trustDir, 0o755)
	os.Symlink(filepath.Join(p.trustDir, "gone"), filepath.Join(p.trustDir, "dbx"))
	_, _, err := p.policy(&options{verify: "auto"})
	if err == nil || !strings.Contains(err.Error(), "trust store "+filepath.Join(p.trustDir, "dbx")) || !strings.Contains(err.Error(), "cannot be followed") {
		t.Errorf("a broken /etc/ukiboot/dbx link: %v", err)
	}
}

func TestListVerboseShowsTrustStore(t *testing.T) {
	esp, db := verifyTree(t)
	dbx := t.TempDir()
	os.WriteFile(filepath.Join(dbx, "vendor.esl"), append(sigList(sigSHA256, hashEntry(1)), sigList(sigRSA2048, bytes.Repeat([]byte{2}, 256))...), 0o644)
	f := &fakeSystem{platform: noPlatform(t)}
	os.MkdirAll(f.platform.efivarsDir, 0o755)
	mokRT := filepath.Join(f.platform.efivarsDir, "MokListRT-"+authenticode.ShimLockGUID)
	os.WriteFile(mokRT, append([]byte{6, 0, 0, 0}, sigList(sigSHA256, hashEntry(3))...), 0o644)
	want := strings.Join([]string{
		"verification: enforce (a trust store is configured)",
		"trust store:",
		"  db: 1 certificate, 0 image hashes, 0 TBS hashes",
		"    from " + filepath.Join(db, "ca.pem"),
		"  dbx: 0 certificates, 1 image hash, 0 TBS hashes; skipped (cannot match an image): 1 EFI_CERT_RSA2048",
		"    from " + filepath.Join(dbx, "vendor.esl"),
		"  note: " + mokRT + " not trusted: -trust-mok not given",
		"",
	}, "\n")
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-v", "-db", db, "-dbx", dbx, "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
		t.Fatalf("rc %d %s", rc, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("-list -v printed\n%s\nwant it to start with\n%s", stdout.String(), want)
	}
	// Without -v: no summary. With -json: the summary goes to stderr.
	stdout.Reset()
	runWith([]string{"-list", "-db", db, "-dbx", dbx, "-root", esp}, &stdout, &stderr, f.sys())
	if strings.Contains(stdout.String(), "trust store:") {
		t.Errorf("-list without -v printed the trust store:\n%s", stdout.String())
	}
	stdout.Reset()
	stderr.Reset()
	runWith([]string{"-list", "-v", "-json", "-db", db, "-dbx", dbx, "-root", esp}, &stdout, &stderr, f.sys())
	var entries []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil || !strings.Contains(stderr.String(), "  dbx: 0 certificates, 1 image hash") {
		t.Errorf("-list -v -json: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
}

// TestSBATLevelRefusesOldUKI: with an SbatLevel, a correctly signed UKI
// whose .sbat names a revoked generation is not booted; -auto falls back
// to the next entry and says why.
func TestSBATLevelRefusesOldUKI(t *testing.T) {
	ca := ukitest.NewCA(t, "Fleet db CA", true)
	key := ukitest.NewLeaf(t, "Fleet Signer", true, ca)
	esp, db := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(db, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644)
	os.MkdirAll(filepath.Join(esp, "EFI/Linux"), 0o755)
	sbatOf := func(gen string) ukitest.Section {
		return ukitest.S(".sbat", "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\nlinux,"+gen+",Linux,linux,6.1,https://kernel.org\n")
	}
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-2.efi"), signedUKI(t, key, ukitest.S(".osrel", "ID=os\nVERSION_ID=2\n"), sbatOf("1"), ukitest.S(".linux", "K2")), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI/Linux/os-1.efi"), signedUKI(t, key, ukitest.S(".osrel", "ID=os\nVERSION_ID=1\n"), sbatOf("2"), ukitest.S(".linux", "K1")), 0o644)
	level := filepath.Join(t.TempDir(), "sbatlevel")
	os.WriteFile(level, []byte("sbat,1,2024010100\nlinux,2\n"), 0o644)

	for _, c := range []struct {
		name   string
		args   []string
		kernel string
		log    string
	}{
		{"no level: the newest boots", nil, "K2", ""},
		{"-sbatlevel revokes linux 1", []string{"-sbatlevel", level}, "K1", "SBAT: linux generation 1 is revoked (SbatLevel requires 2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSystem{platform: noPlatform(t)}
			var stdout, stderr bytes.Buffer
			args := append([]string{"-auto", "-db", db, "-root", esp}, c.args...)
			if rc := runWith(args, &stdout, &stderr, f.sys()); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			if len(f.loads) != 1 || string(f.loads[0].kernel) != c.kernel {
				t.Fatalf("loaded %+v, want kernel %s\n%s", f.loads, c.kernel, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.log) {
				t.Errorf("log lacks %q:\n%s", c.log, stderr.String())
			}
		})
	}
}

// TestEnforceEmptyStoreSays: -verify enforce without any db says that
// everything will be refused, and how to give a trust store.
func TestEnforceEmptyStoreSays(t *testing.T) {
	p := noPlatform(t)
	_, why, err := p.policy(&options{verify: "enforce"})
	if err != nil || !strings.Contains(why, "holds no certificates or image hashes, so every UKI will be refused") || !strings.Contains(why, "-db") {
		t.Errorf("why %q, err %v", why, err)
	}
}
