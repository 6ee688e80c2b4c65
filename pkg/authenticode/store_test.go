package authenticode

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// The EFI signature types, written out here from the UEFI specification
// (2.10, §32.4.1) rather than taken from sigTypes, with their
// SignatureData sizes.
const (
	stSHA256         = "c1c41626-504c-4092-aca9-41f936934328"
	stRSA2048        = "3c5766e8-269c-4e34-aa14-ed776e85b3b6"
	stRSA2048SHA256  = "e2b36190-879b-4a3d-ad8d-f2e7bba32784"
	stSHA1           = "826ca512-cf10-4ac9-b187-be01496631bd"
	stRSA2048SHA1    = "67f8444f-8743-48f1-a328-1eaab8736080"
	stX509           = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
	stSHA224         = "0b6e5233-a65c-44c9-9407-d9ab83bfc8bd"
	stSHA384         = "ff3e5307-9fd0-48c9-85f1-8ad56c701e01"
	stSHA512         = "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a"
	stX509SHA256     = "3bd2a492-96c0-4079-b420-fcf98ef103ed"
	stX509SHA384     = "7076876e-80c2-4ee6-aad2-28b349a6865b"
	stX509SHA512     = "446dbf63-2502-4cda-bcfa-2465d2b0fe9d"
	stPKCS7          = "4aafd29d-68df-49ee-8aa9-347d375665a7"
	stSM3            = "57347f87-7a9b-403a-b93c-dc4afb7a0ebc"
	stX509SM3        = "60d807e5-10b4-49a9-9331-e40437888d37"
	stExternalMgmt   = "452e8ced-dfff-4b8c-ae01-5118862e682c"
	stUnknownSigType = "0badc0de-0000-4000-8000-000000000001"
)

// stList builds one EFI_SIGNATURE_LIST with the given header size and
// SignatureSize; each entry gets a 16-byte owner GUID before its data.
func stList(typ string, hdr, sigSize int, entries ...[]byte) []byte {
	g := guid(typ)
	b := append([]byte(nil), g[:]...)
	body := make([]byte, hdr)
	for _, e := range entries {
		body = append(body, bytes.Repeat([]byte{0x11}, 16)...)
		body = append(body, e...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(28+len(body)))
	b = binary.LittleEndian.AppendUint32(b, uint32(hdr))
	b = binary.LittleEndian.AppendUint32(b, uint32(sigSize))
	return append(b, body...)
}

// stESL builds a well-formed list of entries of the same size.
func stESL(typ string, entries ...[]byte) []byte {
	return stList(typ, 0, 16+len(entries[0]), entries...)
}

func stFill(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }

func stPEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// stAuth wraps lists in an EFI_VARIABLE_AUTHENTICATION_2 header (40
// bytes) with an empty PKCS7 CertData.
func stAuth(lists []byte) []byte {
	b := make([]byte, 16) // EFI_TIME
	b = binary.LittleEndian.AppendUint32(b, 24)
	b = binary.LittleEndian.AppendUint16(b, 0x0200)
	b = binary.LittleEndian.AppendUint16(b, 0x0ef1)
	g := guid(stPKCS7)
	b = append(b, g[:]...)
	return append(b, lists...)
}

func stEFIVar(attrs uint32, lists []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, attrs), lists...)
}

func stWrite(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func stSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestStoreDirectoryRules(t *testing.T) {
	revoked := stFill(32, 0xab)
	list := stESL(stSHA256, revoked)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		// want are substrings of the error; none: the directory loads
		// and revokes the hash.
		want []string
	}{
		{"a symlink to a file is read like the file", func(t *testing.T, dir string) {
			target := stWrite(t, filepath.Join(t.TempDir(), "revoked.esl"), list)
			stSymlink(t, target, filepath.Join(dir, "link.esl"))
		}, nil},
		{"a dot-file is read", func(t *testing.T, dir string) {
			stWrite(t, filepath.Join(dir, ".revoked.esl"), list)
		}, nil},
		{"a subdirectory is an error", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, "vendor"), 0o755)
			stWrite(t, filepath.Join(dir, "vendor", "revoked.esl"), list)
		}, []string{"vendor: a directory", "not searched recursively", "move its files up"}},
		{"a symlink to a directory is an error", func(t *testing.T, dir string) {
			stSymlink(t, t.TempDir(), filepath.Join(dir, "more"))
		}, []string{"more: a directory"}},
		{"a broken symlink is an error", func(t *testing.T, dir string) {
			stSymlink(t, filepath.Join(dir, "gone.esl"), filepath.Join(dir, "link.esl"))
		}, []string{"link.esl: a symbolic link to", "gone.esl", "cannot be followed", "fix or remove the link"}},
		{"a symlink loop is an error", func(t *testing.T, dir string) {
			stSymlink(t, filepath.Join(dir, "b.esl"), filepath.Join(dir, "a.esl"))
			stSymlink(t, filepath.Join(dir, "a.esl"), filepath.Join(dir, "b.esl"))
		}, []string{"a.esl: a symbolic link to", "cannot be followed"}},
		{"a FIFO is an error", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "pipe.esl"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"pipe.esl: not a regular file", "remove it"}},
		{"an unreadable file is an error", func(t *testing.T, dir string) {
			// Reading /proc/self/mem at offset 0 fails with EIO, even
			// as root.
			if _, err := os.Stat("/proc/self/mem"); err != nil {
				t.Skip("no /proc/self/mem")
			}
			stSymlink(t, "/proc/self/mem", filepath.Join(dir, "mem.esl"))
		}, []string{"mem.esl: cannot be read"}},
		{"an empty file is an error", func(t *testing.T, dir string) {
			stWrite(t, filepath.Join(dir, "empty.esl"), nil)
		}, []string{"empty.esl: empty file"}},
		{"a file over MaxTrustFileSize is an error", func(t *testing.T, dir string) {
			p := stWrite(t, filepath.Join(dir, "huge.esl"), nil)
			if err := os.Truncate(p, MaxTrustFileSize+1); err != nil {
				t.Fatal(err)
			}
		}, []string{"huge.esl: larger than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			s := NewStore()
			err := s.AddFile(dir, true)
			if tc.want == nil {
				if err != nil || !s.DBX.ImageHashes[fmt.Sprintf("%x", revoked)] {
					t.Fatalf("err %v, dbx hashes %v", err, s.DBX.ImageHashes)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; dbx %+v", s.DBX)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestStoreDirectoryOrder(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"b.esl", "a.esl", "_.esl", "B.esl", ".z.esl"} {
		stWrite(t, filepath.Join(dir, n), stESL(stSHA256, stFill(32, byte(i))))
	}
	s := NewStore()
	if err := s.AddFile(dir, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.DB.Sources {
		got = append(got, filepath.Base(p))
	}
	if want := []string{".z.esl", "B.esl", "_.esl", "a.esl", "b.esl"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read %v, want byte order %v", got, want)
	}
}

func TestStorePEM(t *testing.T) {
	ca := ukitest.NewCA(t, "PEM CA", false)
	other := ukitest.NewCA(t, "PEM other", true)
	one := append([]byte("# the fleet's revoked signers\n"), stPEM("CERTIFICATE", ca.Cert.Raw)...)
	at := len(one) // where a second block starts
	for _, tc := range []struct {
		name  string
		data  []byte
		certs int
		want  []string
	}{
		{"two certificates with comments around them", append(append(append([]byte(nil), one...), "between\n"...), append(stPEM("CERTIFICATE", other.Cert.Raw), "after\n"...)...), 2, nil},
		{"a TRUSTED CERTIFICATE block is an error", append(append([]byte(nil), one...), stPEM("TRUSTED CERTIFICATE", other.Cert.Raw)...), 0,
			[]string{fmt.Sprintf("byte %d: PEM block of type \"TRUSTED CERTIFICATE\"", at), "only CERTIFICATE"}},
		{"an X509 CRL block is an error", append(append([]byte(nil), one...), stPEM("X509 CRL", []byte{0x30, 0})...), 0,
			[]string{fmt.Sprintf("byte %d: PEM block of type \"X509 CRL\"", at)}},
		{"broken base64 is an error", append(append([]byte(nil), one...), "-----BEGIN CERTIFICATE-----\nMIIB!!notbase64\n-----END CERTIFICATE-----\n"...), 0,
			[]string{fmt.Sprintf("byte %d: PEM block does not decode", at)}},
		{"a missing END line is an error", append(append([]byte(nil), one...), "-----BEGIN CERTIFICATE-----\nMIIB\n"...), 0,
			[]string{fmt.Sprintf("byte %d: PEM block does not decode", at)}},
		{"a broken block before a good one is an error", append([]byte("-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n"), stPEM("CERTIFICATE", ca.Cert.Raw)...), 0,
			[]string{"byte 0: PEM block does not decode"}},
		{"an END line of another type is an error", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n"), 0,
			[]string{"byte 0: PEM block does not decode"}},
		{"a CERTIFICATE block that is not a certificate is an error", append(append([]byte(nil), one...), stPEM("CERTIFICATE", []byte{0x30, 3, 2, 1, 0})...), 0,
			[]string{fmt.Sprintf("byte %d: CERTIFICATE block: x509:", at)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stWrite(t, filepath.Join(t.TempDir(), "revoked.pem"), tc.data)
			s := NewStore()
			err := s.AddFile(p, true)
			if tc.want == nil {
				if err != nil || len(s.DBX.Certs) != tc.certs {
					t.Fatalf("err %v, %d certificates, want %d", err, len(s.DBX.Certs), tc.certs)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, %d certificates", len(s.DBX.Certs))
			}
			for _, w := range append(tc.want, "revoked.pem") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// everyType is one list of each EFI signature type; unknown adds one of
// an unknown type. It returns the data and the offset of the unknown
// list.
func everyType(t *testing.T, unknown bool) ([]byte, int) {
	cert := ukitest.NewCA(t, "Every type", false).Cert.Raw
	var b []byte
	for _, l := range []struct {
		typ  string
		data []byte
	}{
		{stSHA256, stFill(32, 1)},
		{stRSA2048, stFill(256, 2)},
		{stRSA2048SHA256, stFill(256, 3)},
		{stSHA1, stFill(20, 4)},
		{stRSA2048SHA1, stFill(256, 5)},
		{stX509, cert},
		{stSHA224, stFill(28, 6)},
		{stSHA384, stFill(48, 7)},
		{stSHA512, stFill(64, 8)},
		{stX509SHA256, stFill(32+16, 9)},
		{stX509SHA384, stFill(48+16, 10)},
		{stX509SHA512, stFill(64+16, 11)},
		{stPKCS7, stFill(100, 12)},
		{stSM3, stFill(32, 13)},
		{stX509SM3, stFill(32+16, 14)},
		{stExternalMgmt, []byte{0}},
	} {
		b = append(b, stESL(l.typ, l.data)...)
	}
	at := len(b)
	if unknown {
		b = append(b, stESL(stUnknownSigType, stFill(8, 15), stFill(8, 16))...)
	}
	return b, at
}

func TestEverySignatureType(t *testing.T) {
	lists, unknownAt := everyType(t, true)
	known, _ := everyType(t, false)
	wantSkipped := map[string]int{
		"EFI_CERT_RSA2048": 1, "EFI_CERT_RSA2048_SHA256": 1, "EFI_CERT_SHA1": 1, "EFI_CERT_RSA2048_SHA1": 1,
		"EFI_CERT_SHA224": 1, "EFI_CERT_TYPE_PKCS7": 1, "EFI_CERT_SM3": 1, "EFI_CERT_X509_SM3": 1,
		"EFI_CERT_EXTERNAL_MANAGEMENT": 1,
	}
	withUnknown := map[string]int{"unknown type " + stUnknownSigType: 2}
	for k, v := range wantSkipped {
		withUnknown[k] = v
	}
	for _, tc := range []struct {
		name        string
		data        []byte
		forbid      bool
		wantSkipped map[string]int
		wantErr     string
	}{
		{"db: unknown types are counted as skipped", lists, false, withUnknown, ""},
		{"dbx: an unknown type is refused", lists, true, nil,
			fmt.Sprintf("byte %d: signature list of unknown type %s in dbx", unknownAt, stUnknownSigType)},
		{"dbx: the known types load or are skipped", known, true, wantSkipped, ""},
		{"dbx as an efivarfs variable", stEFIVar(0x27, known), true, wantSkipped, ""},
		{"dbx as an .auth update", stAuth(known), true, wantSkipped, ""},
		{"dbx .auth: an unknown type is refused at its file offset", stAuth(lists), true, nil,
			fmt.Sprintf("byte %d: signature list of unknown type", 40+unknownAt)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stWrite(t, filepath.Join(t.TempDir(), "every.esl"), tc.data)
			s := NewStore()
			err := s.AddFile(p, tc.forbid)
			l := s.side(tc.forbid)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "every.esl") {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if !l.Empty() {
					t.Errorf("a refused file added entries: %+v", l)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Certs) != 1 || len(l.ImageHashes) != 3 || len(l.TBSHashes) != 3 {
				t.Errorf("%d certificates, %d image hashes, %d TBS hashes; want 1, 3, 3", len(l.Certs), len(l.ImageHashes), len(l.TBSHashes))
			}
			if !l.TBSHashes[fmt.Sprintf("%x", stFill(32, 9))] || !l.ImageHashes[fmt.Sprintf("%x", stFill(64, 8))] {
				t.Errorf("hashes %v %v", l.ImageHashes, l.TBSHashes)
			}
			if fmt.Sprint(l.Skipped) != fmt.Sprint(tc.wantSkipped) {
				t.Errorf("skipped %v, want %v", l.Skipped, tc.wantSkipped)
			}
		})
	}
}

func TestSignatureListErrors(t *testing.T) {
	cert := ukitest.NewCA(t, "List errors", false).Cert.Raw
	good := stESL(stSHA256, stFill(32, 1))
	g := len(good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a SHA-256 entry of 31 bytes", stESL(stSHA256, stFill(31, 1)),
			"byte 0: EFI_CERT_SHA256 list with SignatureSize 47, the specification says 48"},
		{"an X509_SHA256 entry without its EFI_TIME", append(good, stESL(stX509SHA256, stFill(32, 1))...),
			fmt.Sprintf("byte %d: EFI_CERT_X509_SHA256 list with SignatureSize 48, the specification says 64", g)},
		{"an RSA2048 entry of the wrong size", stESL(stRSA2048, stFill(255, 1)),
			"byte 0: EFI_CERT_RSA2048 list with SignatureSize 271"},
		{"an X.509 entry with a byte after the certificate", append(good, stESL(stX509, append(append([]byte(nil), cert...), 0))...),
			fmt.Sprintf("byte %d: EFI_CERT_X509 entry: x509:", g+28)},
		{"an X.509 entry that is not a certificate", stESL(stX509, stFill(40, 0x30)),
			"byte 28: EFI_CERT_X509 entry"},
		{"the second X.509 entry of a list does not parse", stList(stX509, 0, 16+len(cert), cert, stFill(len(cert), 0)),
			fmt.Sprintf("byte %d: EFI_CERT_X509 entry", 28+16+len(cert))},
		{"a list that overruns the file", append(good, stESL(stSHA256, stFill(32, 1))[:60]...),
			fmt.Sprintf("byte %d: EFI_SIGNATURE_LIST size 76 does not fit (60 bytes left)", g)},
		{"a truncated header after a good list", append(good, stFill(10, 0x26)...),
			fmt.Sprintf("byte %d: truncated EFI_SIGNATURE_LIST header", g)},
		{"a SignatureHeaderSize that is not 0", stList(stSHA256, 4, 48, stFill(32, 1)),
			"byte 0: EFI_CERT_SHA256 list with SignatureHeaderSize 4"},
		{"a header size beyond the list", func() []byte {
			b := stESL(stSHA256, stFill(32, 1))
			binary.LittleEndian.PutUint32(b[20:], 1000)
			return b
		}(), "byte 0: EFI_SIGNATURE_LIST header size 1000 does not fit"},
		{"a list that does not hold whole signatures", stList(stSHA256, 0, 48, stFill(40, 1)),
			"byte 0: EFI_SIGNATURE_LIST of 84 bytes does not hold whole signatures of 48 bytes"},
		{"a SignatureSize smaller than the owner", stList(stUnknownSigType, 0, 8, stFill(0, 0)[:0]),
			"byte 0: SignatureSize 8 is smaller than the 16-byte SignatureOwner"},
		{"efivarfs: offsets count the attribute word", stEFIVar(0x27, append(good, stESL(stSHA256, stFill(20, 1))...)),
			fmt.Sprintf("byte %d: EFI_CERT_SHA256 list with SignatureSize 36", 4+g)},
		{"efivarfs: the attribute word alone", stEFIVar(0x27, nil), "byte 4: no signature lists after the header"},
		{".auth: offsets count the authentication header", stAuth(stESL(stSHA1, stFill(32, 1))),
			"byte 40: EFI_CERT_SHA1 list with SignatureSize 48, the specification says 36"},
		{".auth: a dwLength beyond the file", func() []byte {
			b := stAuth(good)
			binary.LittleEndian.PutUint32(b[16:], 5000)
			return b
		}(), "byte 16: .auth header: WIN_CERTIFICATE dwLength 5000 does not fit"},
		{"a DER certificate that does not parse", []byte{0x30, 3, 2, 1, 0}, "DER certificate: x509:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stWrite(t, filepath.Join(t.TempDir(), "bad.esl"), tc.data)
			s := NewStore()
			err := s.AddFile(p, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), p+": ") {
				t.Fatalf("error %v, want %s: ...%q", err, p, tc.want)
			}
			if !s.DBX.Empty() {
				t.Errorf("a refused file added entries: %+v", s.DBX)
			}
		})
	}
}

func TestStoreSummary(t *testing.T) {
	s := NewStore()
	s.DB.Certs = append(s.DB.Certs, ukitest.NewCA(t, "Summary", false).Cert)
	s.DB.Sources = []string{"/etc/ukiboot/db/ca.pem"}
	s.DBX.ImageHashes["aa"], s.DBX.ImageHashes["bb"] = true, true
	s.DBX.TBSHashes["cc"] = true
	s.DBX.Skipped["EFI_CERT_SHA1"], s.DBX.Skipped["EFI_CERT_RSA2048"] = 3, 1
	s.DBX.Sources = []string{"a.esl", "b.esl"}
	s.Notes = []string{"MokListRT not trusted"}
	want := []string{
		"db: 1 certificate, 0 image hashes, 0 TBS hashes",
		"  from /etc/ukiboot/db/ca.pem",
		"dbx: 0 certificates, 2 image hashes, 1 TBS hash; skipped (cannot match an image): 1 EFI_CERT_RSA2048, 3 EFI_CERT_SHA1",
		"  from a.esl, b.esl",
		"note: MokListRT not trusted",
	}
	if got := s.Summary(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzTrustFile: arbitrary trust-store files never panic, and dbx is at
// least as strict as db: what loads as dbx loads the same as db.
func FuzzTrustFile(f *testing.F) {
	f.Add(stESL(stSHA256, stFill(32, 1)))
	f.Add(stEFIVar(7, stESL(stRSA2048, stFill(256, 1))))
	f.Add(stAuth(stESL(stUnknownSigType, stFill(4, 1))))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		db, dbx := newList(), newList()
		dbx.forbid = true
		errDB, errDBX := db.parse(b), dbx.parse(b)
		if errDBX == nil {
			if errDB != nil {
				t.Fatalf("loads as dbx, not as db: %v", errDB)
			}
			if len(db.Certs) != len(dbx.Certs) || len(db.ImageHashes) != len(dbx.ImageHashes) || len(db.TBSHashes) != len(dbx.TBSHashes) {
				t.Fatal("db and dbx loaded different entries")
			}
		}
	})
}
