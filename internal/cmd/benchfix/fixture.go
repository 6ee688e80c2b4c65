package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ukiboot/ukiboot/internal/benchlayout"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// version is part of every stamp: bump it when the fixtures change, so
// that cached ones are rebuilt.
const version = "benchfix 1"

// listEntries is the number of UKIs of a listing tree.
const listEntries = 100

// ukiName is where the signed UKI lies under a fixture's ESP.
const ukiName = benchlayout.UKIPath

// signedFixture makes DIR/esp/EFI/Linux/big.efi (mib MiB, signed with
// SHA-256 by a leaf of DIR/ca.pem) unless DIR's stamp says it is there.
func signedFixture(out string, mib int, seed uint64) (string, error) {
	dir := benchlayout.SignedDir(out, mib, seed)
	stamp := fmt.Sprintf("%s signed %d MiB seed %d\n", version, mib, seed)
	if done(dir, stamp) {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	ca, leaf, err := keys()
	if err != nil {
		return "", err
	}
	size := mib << 20
	linux, initrd := random(seed, "linux", size*3/4), random(seed, "initrd", size/4)
	img := ukitest.PadTo8(ukitest.UKI(
		ukitest.S(".osrel", "ID=bench\nNAME=\"ukiboot bench\"\nVERSION_ID=1\n"),
		ukitest.S(".cmdline", "root=/dev/vda quiet"),
		ukitest.S(".uname", "6.12.0-bench"),
		ukitest.B(".linux", linux), ukitest.B(".initrd", initrd)))
	linux, initrd = nil, nil
	d, err := authenticode.ImageDigest(img, crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("the %d MiB UKI's Authenticode digest: %v", mib, err)
	}
	img = ukitest.AttachSignatures(img, ukitest.PKCS7(d, crypto.SHA256, leaf))
	path := filepath.Join(dir, "esp", ukiName)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, img, 0o644); err != nil {
		return "", err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o644); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "stamp"), []byte(stamp), 0o644)
}

// listFixture makes DIR/esp with 100 UKIs whose .linux is mib MiB of
// zeros, written sparse (as cmds/ukiboot's BenchmarkList does): -list
// reads their headers and small sections only.
func listFixture(out string, mib, n int) (string, error) {
	dir := benchlayout.ListDir(out, n, mib)
	stamp := fmt.Sprintf("%s list %d x %d MiB\n", version, n, mib)
	if done(dir, stamp) {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	img := ukitest.UKI(ukitest.S(".osrel", "ID=big\nVERSION_ID=1\n"), ukitest.S(".cmdline", "quiet"),
		ukitest.B(".linux", make([]byte, mib<<20)))
	esp := filepath.Join(dir, "esp", "EFI/Linux")
	if err := os.MkdirAll(esp, 0o755); err != nil {
		return "", err
	}
	for i := range n {
		name := fmt.Sprintf("big-%c%c.efi", 'a'+i%26, 'a'+i/26)
		if err := writeSparse(filepath.Join(esp, name), img); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, "stamp"), []byte(stamp), 0o644)
}

// done: dir's stamp is this one (written last, so a fixture whose build
// was interrupted is rebuilt).
func done(dir, stamp string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "stamp"))
	return err == nil && string(b) == stamp
}

// random is n bytes of the ChaCha8 stream of (seed, name): incompressible
// and the same on every run.
func random(seed uint64, name string, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	copy(key[8:], name)
	b := make([]byte, n)
	mrand.NewChaCha8(key).Read(b)
	return b
}

// keys makes an RSA CA and a code-signing leaf valid for ten years, so
// that cached fixtures keep verifying.
func keys() (ca, leaf *ukitest.Key, err error) {
	if ca, err = newKey("ukiboot bench CA", nil); err != nil {
		return nil, nil, err
	}
	leaf, err = newKey("ukiboot bench signer", ca)
	return ca, leaf, err
}

func newKey(name string, parent *ukitest.Key) (*ukitest.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"ukiboot bench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	issuer, signer := tmpl, crypto.Signer(priv)
	if parent != nil {
		issuer, signer = parent.Cert, parent.Signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, priv.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ukitest.Key{Signer: priv, Cert: cert}, nil
}

// writeSparse writes b, skipping 64 KiB runs of zeros (holes).
func writeSparse(name string, b []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	const chunk = 64 << 10
	for off := 0; off < len(b); off += chunk {
		c := b[off:min(off+chunk, len(b))]
		if len(c) == chunk && allZero(c) {
			continue
		}
		if _, err := f.WriteAt(c, int64(off)); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
