package uki_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// FuzzRead checks that no input makes the reader panic, hang or allocate
// from a size it read, and that every error is a FormatError.
func FuzzRead(f *testing.F) {
	f.Add(ukitest.UKI(ukitest.S(".osrel", "ID=x\n"), ukitest.S(".cmdline", "c"), ukitest.S(".linux", "K"), ukitest.S(".initrd", "I")))
	f.Add(ukitest.UKI(ukitest.S(".linux", "K"), ukitest.S(".profile", "ID=a\nTITLE=b"), ukitest.S(".cmdline", "x"), ukitest.S(".profile", "ID=c")))
	f.Add(ukitest.UKI(ukitest.S(".cmdline", "addon")))
	f.Add(ukitest.Image{Sections: []ukitest.Section{ukitest.S(".linux", "K")}, CertTable: ukitest.WinCert(2, []byte("sig"))}.Bytes())
	f.Add([]byte("MZ"))
	if im, err := ukitest.Ukify255(ukitest.Stub252(), ukitest.S(".osrel", "ID=x\n"),
		ukitest.S(".sbat", ukitest.Ukify255SBAT(ukitest.Stub252SBAT, "sbat,1,x\nlinux,1,The Linux Developers,linux,6.1,https://linux.org\n")),
		ukitest.S(".linux", "K")); err == nil {
		b, _ := im.Build()
		f.Add(b) // memory ranges overlap
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := uki.Read(bytes.NewReader(data), int64(len(data)), "fuzz.efi", uki.KindAuto)
		if err != nil {
			var fe *uki.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FormatError: %v", err)
			}
			return
		}
		for _, p := range file.Profiles() {
			file.OSRelease(p)
			file.Cmdline(p)
			file.Uname(p)
			for _, s := range p.Sections {
				if s.Size() <= 1<<20 {
					n, err := io.Copy(io.Discard, s.Open())
					if err != nil || n != s.Size() {
						t.Fatalf("section %s: read %d of %d: %v", s.Name, n, s.Size(), err)
					}
				}
			}
		}
		file.Certificates()
		if _, err := file.Describe(); err != nil {
			var fe *uki.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Describe: error is not a FormatError: %v", err)
			}
		}
	})
}

// FuzzParseOSRelease checks the os-release parser on arbitrary input: no
// panic, and the result survives a round trip through double quoting.
func FuzzParseOSRelease(f *testing.F) {
	for _, s := range []string{"ID=debian\n", "A=\"x\\\"y\"\n", "A='b' \"c\"d\\\ne\n", "#c\\\nX=1", "A=\"unterminated"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := uki.ParseOSRelease(data)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, fl := range o.Fields {
			if !validKey(fl.Key) {
				continue
			}
			buf.WriteString(fl.Key + "=\"")
			for _, c := range []byte(fl.Value) {
				if c == '"' || c == '\\' || c == '`' || c == '$' {
					buf.WriteByte('\\')
				}
				buf.WriteByte(c)
			}
			buf.WriteString("\"\n")
		}
		o2, err := uki.ParseOSRelease(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		for _, fl := range o.Fields {
			if validKey(fl.Key) && o2.Get(fl.Key) != fl.Value {
				t.Fatalf("%s: %q became %q", fl.Key, fl.Value, o2.Get(fl.Key))
			}
		}
	})
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range []byte(k) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
