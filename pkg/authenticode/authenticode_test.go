package authenticode_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

func parse(t *testing.T, img []byte) *uki.File {
	t.Helper()
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "test.efi", uki.KindAuto)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func unsignedUKI(initrd string) []byte {
	return ukitest.PadTo8(ukitest.UKI(
		ukitest.S(".osrel", "ID=test\n"),
		ukitest.S(".cmdline", "console=ttyS0"),
		ukitest.B(".linux", bytes.Repeat([]byte("K"), 5000)),
		ukitest.S(".initrd", initrd),
	))
}

// sign signs img (unsigned, padded) with each key in turn.
func sign(t *testing.T, img []byte, alg crypto.Hash, keys ...*ukitest.Key) []byte {
	t.Helper()
	d, err := authenticode.Digests(parse(t, img), bytes.NewReader(img), alg)
	if err != nil {
		t.Fatal(err)
	}
	var sigs [][]byte
	for _, k := range keys {
		sigs = append(sigs, ukitest.PKCS7(d[alg], alg, k))
	}
	return ukitest.AttachSignatures(img, sigs...)
}

func verify(t *testing.T, img []byte, store *authenticode.Store) *authenticode.Verdict {
	t.Helper()
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "test.efi", uki.KindAuto)
	if err != nil {
		return &authenticode.Verdict{Status: authenticode.Untrusted, Reason: err.Error()}
	}
	return authenticode.VerifyFile(f, bytes.NewReader(img), store)
}

func storeWith(certs ...*ukitest.Key) *authenticode.Store {
	s := authenticode.NewStore()
	for _, k := range certs {
		s.DB.Certs = append(s.DB.Certs, k.Cert)
	}
	return s
}

type fixture struct {
	ca, leaf, ecCA, ecLeaf, other *ukitest.Key
}

func keys(t *testing.T) fixture {
	ca := ukitest.NewCA(t, "Test db CA", false)
	ecCA := ukitest.NewCA(t, "Test EC CA", true)
	return fixture{
		ca: ca, leaf: ukitest.NewLeaf(t, "Test signer", false, ca),
		ecCA: ecCA, ecLeaf: ukitest.NewLeaf(t, "Test EC signer", true, ecCA),
		other: ukitest.NewCA(t, "Unknown key", false),
	}
}

func TestAccept(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	cases := []struct {
		name   string
		signed []byte
		store  *authenticode.Store
		signer string
	}{
		{"RSA leaf chaining to db CA", sign(t, img, crypto.SHA256, k.leaf), storeWith(k.ca), "Test signer"},
		{"SHA-384", sign(t, img, crypto.SHA384, k.leaf), storeWith(k.ca), "Test signer"},
		{"SHA-512", sign(t, img, crypto.SHA512, k.leaf), storeWith(k.ca), "Test signer"},
		{"ECDSA", sign(t, img, crypto.SHA256, k.ecLeaf), storeWith(k.ecCA), "Test EC signer"},
		{"leaf itself in db", sign(t, img, crypto.SHA256, k.leaf), storeWith(k.leaf), "Test signer"},
		{"first signature unknown, second good", sign(t, img, crypto.SHA256, k.other, k.leaf), storeWith(k.ca), "Test signer"},
		{"expired signer", sign(t, img, crypto.SHA256, ukitest.NewExpiredLeaf(t, "Expired signer", k.ca)), storeWith(k.ca), "Expired signer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verify(t, c.signed, c.store)
			if v.Status != authenticode.Trusted || !strings.Contains(v.Signer, c.signer) {
				t.Fatalf("verdict %v", v)
			}
		})
	}
	// The image digest listed in db trusts an unsigned image.
	d, _ := authenticode.Digests(parse(t, img), bytes.NewReader(img), crypto.SHA256)
	s := authenticode.NewStore()
	s.DB.ImageHashes[hexs(d[crypto.SHA256])] = true
	if v := verify(t, img, s); v.Status != authenticode.Trusted {
		t.Errorf("image hash in db: %v", v)
	}
	if v := verify(t, img, storeWith(k.ca)); v.Status != authenticode.Unsigned {
		t.Errorf("unsigned: %v", v)
	}
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func x509MarshalPKCS8(k *ukitest.Key) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k.Signer) }

func TestReject(t *testing.T) {
	k := keys(t)
	img := unsignedUKI("INITRD")
	good := sign(t, img, crypto.SHA256, k.leaf)
	db := storeWith(k.ca)
	if v := verify(t, good, db); v.Status != authenticode.Trusted {
		t.Fatalf("baseline: %v", v)
	}
	f := parse(t, good)
	initrdOff := int(f.Section(".initrd").PointerToRawData)
	linuxOff := int(f.Section(".linux").PointerToRawData)

	modify := func(fn func(b []byte) []byte) []byte { return fn(bytes.Clone(good)) }
	other := unsignedUKI("OTHER!")
	certs, _ := f.Certificates()
	transplant := ukitest.AttachSignatures(other, certs[0].Data)

	extra := ukitest.PadTo8(ukitest.UKI(
		ukitest.S(".osrel", "ID=test\n"),
		ukitest.S(".cmdline", "console=ttyS0"),
		ukitest.B(".linux", bytes.Repeat([]byte("K"), 5000)),
		ukitest.S(".initrd", "INITRD"),
		ukitest.S(".ucode", "EVIL"),
	))
	addedSection := ukitest.AttachSignatures(extra, certs[0].Data)

	tbs := sha256.Sum256(k.ca.Cert.RawTBSCertificate)
	d, _ := authenticode.Digests(f, bytes.NewReader(good), crypto.SHA256)
	dbxImage, dbxCert, dbxTBS := storeWith(k.ca), storeWith(k.ca), storeWith(k.ca)
	dbxImage.DBX.ImageHashes[hexs(d[crypto.SHA256])] = true
	dbxCert.DBX.Certs = append(dbxCert.DBX.Certs, k.leaf.Cert)
	dbxTBS.DBX.TBSHashes[hexs(tbs[:])] = true

	cases := []struct {
		name   string
		signed []byte
		store  *authenticode.Store
		why    string
	}{
		{"signature transplanted from another binary", transplant, db, "does not match this image"},
		{".initrd changed after signing", modify(func(b []byte) []byte { b[initrdOff] ^= 1; return b }), db, "does not match this image"},
		{".linux changed after signing", modify(func(b []byte) []byte { b[linuxOff+100] ^= 0x80; return b }), db, "does not match this image"},
		{"header changed after signing", modify(func(b []byte) []byte { b[0x40] ^= 1; return b }), db, "does not match this image"},
		{"section added after signing", addedSection, db, "does not match this image"},
		{"data appended after signing", modify(func(b []byte) []byte { return append(b, "appended"...) }), db, "after the certificate table"},
		{"unknown signer", sign(t, img, crypto.SHA256, k.other), db, "does not chain"},
		{"dbx image digest", good, dbxImage, "digest is in dbx"},
		{"dbx certificate", good, dbxCert, "is in dbx"},
		{"dbx TBS hash", good, dbxTBS, "TBS hash"},
		{"garbage certificate", ukitest.AttachSignatures(img, []byte("garbage, not DER")), db, "not PKCS#7"},
		{"truncated certificate table", modify(func(b []byte) []byte { return b[:len(b)-16] }), db, "past the end"},
		{"empty db", good, authenticode.NewStore(), "no trust store was given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := verify(t, c.signed, c.store)
			if v.Status == authenticode.Trusted {
				t.Fatalf("accepted: %v", v)
			}
			if !strings.Contains(v.Reason, c.why) {
				t.Errorf("reason %q lacks %q", v.Reason, c.why)
			}
		})
	}
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	p := filepath.Join(dir, name)
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	return p
}

func writeKey(t *testing.T, dir string, k *ukitest.Key) (certPath, keyPath string) {
	t.Helper()
	certPath = writePEM(t, dir, "cert.pem", k.Cert.Raw)
	der, err := x509MarshalPKCS8(k)
	if err != nil {
		t.Fatal(err)
	}
	keyPath = filepath.Join(dir, "key.pem")
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	return
}

// TestOracles cross-checks with sbverify and osslsigncode (our signatures
// verify with them) and sbsign (its signatures verify with us).
func TestOracles(t *testing.T) {
	sbverify := ukitest.Need(t, "sbverify")
	sbsign := ukitest.Need(t, "sbsign")
	osslsigncode := ukitest.Need(t, "osslsigncode")
	k := keys(t)
	dir := t.TempDir()
	caPEM := writePEM(t, dir, "ca.pem", k.ca.Cert.Raw)
	img := unsignedUKI("INITRD")
	signed := filepath.Join(dir, "signed.efi")
	os.WriteFile(signed, sign(t, img, crypto.SHA256, k.leaf), 0o644)
	if out, err := exec.Command(sbverify, "--cert", caPEM, signed).CombinedOutput(); err != nil {
		t.Errorf("sbverify rejects our signature: %v\n%s", err, out)
	}
	if out, err := exec.Command(osslsigncode, "verify", "-CAfile", caPEM, "-in", signed).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode rejects our signature: %v\n%s", err, out)
	}
	// A tampered file must fail the oracles too (proves they check).
	tampered := filepath.Join(dir, "tampered.efi")
	b, _ := os.ReadFile(signed)
	b[int(parse(t, b).Section(".initrd").PointerToRawData)] ^= 1
	os.WriteFile(tampered, b, 0o644)
	if err := exec.Command(sbverify, "--cert", caPEM, tampered).Run(); err == nil {
		t.Error("sbverify accepts a tampered file")
	}

	// sbsign's signature verifies with us.
	certPath, keyPath := writeKey(t, t.TempDir(), k.leaf)
	unsigned := filepath.Join(dir, "unsigned.efi")
	os.WriteFile(unsigned, ukitest.UKI(ukitest.S(".osrel", "ID=x\n"), ukitest.B(".linux", bytes.Repeat([]byte("L"), 3333))), 0o644)
	bySbsign := filepath.Join(dir, "sbsign.efi")
	if out, err := exec.Command(sbsign, "--key", keyPath, "--cert", certPath, "--output", bySbsign, unsigned).CombinedOutput(); err != nil {
		t.Fatalf("sbsign: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(bySbsign)
	if v := verify(t, data, storeWith(k.ca)); v.Status != authenticode.Trusted {
		t.Errorf("sbsign's signature: %v", v)
	}
	if v := verify(t, data, storeWith(k.other)); v.Status == authenticode.Trusted {
		t.Errorf("sbsign's signature trusted by the wrong db: %v", v)
	}
}

func esl(typ string, entries ...[]byte) []byte {
	return ukitest.SignatureList(authenticode.GUIDBytes(typ), entries...)
}

func TestStoreFiles(t *testing.T) {
	k := keys(t)
	dir := t.TempDir()
	writePEM(t, dir, "ca.pem", k.ca.Cert.Raw)
	os.WriteFile(filepath.Join(dir, "ec.der"), k.ecCA.Cert.Raw, 0o644)
	os.WriteFile(filepath.Join(dir, "list.esl"), esl("a5c059a1-94e4-4aa7-87b5-ab155c2bf072", k.leaf.Cert.Raw), 0o644)
	hash := bytes.Repeat([]byte{0xab}, 32)
	// EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID (dwLength, wRevision
	// 0x0200, WIN_CERT_TYPE_EFI_GUID, CertType PKCS7) with no CertData.
	auth := append(make([]byte, 16), binary.LittleEndian.AppendUint32(nil, 24)...)
	auth = binary.LittleEndian.AppendUint16(auth, 0x0200)
	auth = binary.LittleEndian.AppendUint16(auth, 0x0ef1)
	pkcs7GUID := authenticode.GUIDBytes("4aafd29d-68df-49ee-8aa9-347d375665a7")
	auth = append(auth, pkcs7GUID[:]...)
	auth = append(auth, esl("c1c41626-504c-4092-aca9-41f936934328", hash)...)
	os.WriteFile(filepath.Join(dir, "update.auth"), auth, 0o644)
	s := authenticode.NewStore()
	if err := s.AddFile(dir, false); err != nil {
		t.Fatal(err)
	}
	if len(s.DB.Certs) != 3 || !s.DB.ImageHashes[hexs(hash)] {
		t.Errorf("db: %d certs, hashes %v", len(s.DB.Certs), s.DB.ImageHashes)
	}
	// efivarfs layout: attributes, then lists.
	vars := t.TempDir()
	tbs := sha256.Sum256(k.other.Cert.RawTBSCertificate)
	x509sha := append(tbs[:], make([]byte, 16)...) // hash + EFI_TIME
	// db and dbx as the firmware keeps them (NV, BS, RT, time-based
	// authenticated), in User Mode.
	os.WriteFile(filepath.Join(vars, "db-"+authenticode.ImageSecurityDatabaseGUID), append([]byte{0x27, 0, 0, 0}, esl("a5c059a1-94e4-4aa7-87b5-ab155c2bf072", k.ca.Cert.Raw)...), 0o644)
	os.WriteFile(filepath.Join(vars, "dbx-"+authenticode.ImageSecurityDatabaseGUID), append([]byte{0x27, 0, 0, 0}, esl("3bd2a492-96c0-4079-b420-fcf98ef103ed", x509sha)...), 0o644)
	os.WriteFile(filepath.Join(vars, "SetupMode-"+authenticode.GlobalVariableGUID), []byte{6, 0, 0, 0, 0}, 0o644)
	s2 := authenticode.NewStore()
	if n, err := s2.AddEFIVars(vars); err != nil || n != 2 {
		t.Fatalf("AddEFIVars: %d %v", n, err)
	}
	if len(s2.DB.Certs) != 1 || !s2.DBX.TBSHashes[hexs(tbs[:])] {
		t.Errorf("efivars store %+v %+v", s2.DB, s2.DBX)
	}
	bad := filepath.Join(t.TempDir(), "bad.esl")
	os.WriteFile(bad, []byte("this is neither a certificate nor a list"), 0o644)
	if err := authenticode.NewStore().AddFile(bad, true); err == nil || !strings.Contains(err.Error(), "bad.esl") {
		t.Errorf("garbage trust file: %v", err)
	}
}
