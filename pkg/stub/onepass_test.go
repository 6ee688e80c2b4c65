package stub

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// passCorpus is every kind of UKI the one pass must treat as the copy
// does: an ESP tree, the entry to boot, and whether the one pass takes
// the UKI (else it falls back to the copy).
type passCase struct {
	name  string
	files map[string][]byte
	id    string
	one   bool
	// refused: under enforce, refused from its headers before the read.
	refused bool
}

func passCorpus(t *testing.T, key, stranger *ukitest.Key) []passCase {
	// More than a fanout chunk (1 MiB), so that chunks cross sections.
	kernel, initrd, ucode := ukitest.Noise(1<<20+123, 1), ukitest.Noise(200000+77, 2), ukitest.Noise(5000, 3)
	sign := func(secs ...ukitest.Section) []byte {
		return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
	}
	base := []ukitest.Section{ukitest.S(".osrel", "ID=pass\nVERSION_ID=1\n"), ukitest.S(".cmdline", "root=/dev/vda quiet"), ukitest.S(".uname", "6.12.0")}
	with := func(secs ...ukitest.Section) []ukitest.Section {
		return append(append([]ukitest.Section{}, base...), secs...)
	}
	L, I, U := ukitest.B(".linux", kernel), ukitest.B(".initrd", initrd), ukitest.B(".ucode", ucode)
	one := func(name string, img []byte, extra ...string) passCase {
		files := map[string][]byte{"EFI/Linux/a.efi": img}
		for i := 0; i+1 < len(extra); i += 2 {
			files[extra[i]] = []byte(extra[i+1])
		}
		return passCase{name: name, files: files, id: "a.efi", one: true}
	}
	gapped := ukitest.PadTo8(ukitest.Image{Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=gaps\n"), {Name: ".cmdline", Data: []byte("quiet"), Gap: 0x200}, I, {Name: ".linux", Data: kernel, Gap: 0x400}}}.Bytes())
	gapped = ukitest.AttachSignatures(gapped, ukitest.PKCS7(ukitest.SpecDigest(gapped, crypto.SHA256), crypto.SHA256, key))
	overlays, err := ukitest.Ukify255(ukitest.Stub252(), ukitest.S(".osrel", "ID=debian\n"), ukitest.S(".cmdline", "ro"), I,
		ukitest.S(".sbat", ukitest.Ukify255SBAT(ukitest.Stub252SBAT,
			"sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n"+
				"linux,1,The Linux Developers,linux,6.1.0,https://linux.org\n"+
				"linux.debian,1,Debian,linux,6.1.0-28-amd64,https://tracker.debian.org/pkg/linux\n")), L)
	if err != nil {
		t.Fatal(err)
	}
	ovl, _ := overlays.Build()
	ovl = ukitest.PadTo8(ovl)
	ovl = ukitest.AttachSignatures(ovl, ukitest.PKCS7(ukitest.SpecDigest(ovl, crypto.SHA256), crypto.SHA256, key))
	addon := ukitest.SignedUKI(t, authenticode.ImageDigest, key, ukitest.S(".cmdline", "addon=1"), ukitest.B(".ucode", ukitest.Noise(300, 4)),
		ukitest.B(".initrd", ukitest.Noise(7000, 5)), ukitest.B(".dtb", ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("a,b")})))
	addonInitrd := ukitest.SignedUKI(t, authenticode.ImageDigest, key, ukitest.S(".cmdline", "addon=2"), ukitest.B(".initrd", ukitest.Noise(3000, 6)))
	twoSigs := ukitest.PadTo8(ukitest.UKI(with(I, L)...))
	twoSigs = ukitest.AttachSignatures(twoSigs,
		ukitest.PKCS7(ukitest.SpecDigest(twoSigs, crypto.SHA384), crypto.SHA384, stranger),
		ukitest.PKCS7(ukitest.SpecDigest(twoSigs, crypto.SHA512), crypto.SHA512, key))
	hostile := one("hostile certificate table", ukitest.AttachWinCerts(ukitest.PadTo8(ukitest.UKI(with(I, L)...)), ukitest.WinCert(0x0002, []byte{0x30, 0x82, 0xff})))
	hostile.refused = true
	cases := []passCase{
		one("plain", sign(with(I, L)...)),
		one("no initrd", sign(with(L)...)),
		one(".ucode before .initrd", sign(with(U, I, L)...)),
		one(".ucode after .initrd", sign(with(I, U, L)...)),
		one(".ucode only", sign(with(U, L)...)),
		one(".linux first", sign(append([]ukitest.Section{L, I}, base...)...)),
		one("zero tails", sign(with(ukitest.Section{Name: ".initrd", Data: initrd, VirtualSize: uint32(len(initrd)) + 2000},
			ukitest.Section{Name: ".linux", Data: kernel, VirtualSize: uint32(len(kernel)) + 3000})...)),
		one("unsigned", ukitest.UKI(with(I, L)...)),
		one("untrusted signer", ukitest.SignedUKI(t, authenticode.ImageDigest, stranger, with(I, L)...)),
		one("SHA-384 and SHA-512 signatures", twoSigs),
		hostile,
		one("profiles sharing the kernel", sign(with(I, L, ukitest.S(".profile", "ID=one\n"), ukitest.S(".cmdline", "one"),
			ukitest.S(".profile", "ID=two\n"), ukitest.S(".cmdline", "two"))...)),
		one("credentials, boot counting", sign(with(I, L)...), "EFI/Linux/a.efi.extra.d/x.cred", "secret"),
		one("addon with .ucode, .initrd and .dtb", sign(with(U, I, L)...)),
		one("addon with .initrd", sign(with(I, L)...)),
		one("gaps", gapped), // the digest goes back in the file: hashed again from the private copy
		{name: "memory overlaps (ukify 255 on a 252 stub)", files: map[string][]byte{"EFI/Linux/a.efi": ovl}, id: "a.efi"},
		{name: "profiles with their own kernels", files: map[string][]byte{"EFI/Linux/a.efi": sign(with(I, L, ukitest.S(".profile", "ID=one\n"),
			ukitest.B(".linux", ukitest.Noise(9000, 7)))...)}, id: "a.efi"},
	}
	for i := range cases {
		switch cases[i].name {
		case "credentials, boot counting":
			cases[i].files["EFI/Linux/a+3-0.efi"] = cases[i].files["EFI/Linux/a.efi"]
			delete(cases[i].files, "EFI/Linux/a.efi")
		case "addon with .ucode, .initrd and .dtb":
			cases[i].files["EFI/Linux/a.efi.extra.d/u.addon.efi"] = addon
		case "addon with .initrd":
			cases[i].files["loader/addons/i.addon.efi"] = addonInitrd
		}
	}
	return cases
}

// trustedCase says whether the case of passCorpus called name boots
// under enforce (for some of them: the others may as well).
func trustedCase(name string) bool {
	switch name {
	case "plain", "gaps", "SHA-384 and SHA-512 signatures", "zero tails", ".ucode after .initrd", "addon with .ucode, .initrd and .dtb":
		return true
	}
	return false
}

// planText is everything a plan says, and the bytes of its memfds.
func planText(t *testing.T, p *Plan, err error) string {
	t.Helper()
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "entry %+v\ncmdline %q\nrule %q\nbanks %v\nnotes %q\n", p.Entry, p.Cmdline, p.PCR11Rule, p.Banks, p.Notes)
	if v := p.Verdict; v != nil {
		fmt.Fprintf(&b, "verdict %v %q %q %x %x %q\n", v.Status, v.Signer, v.Anchor, v.AnchorCert, v.AnchorDigest, v.Reason)
		for _, r := range v.Signatures {
			fmt.Fprintf(&b, "  signature %d %q %v\n", r.Index, r.Signer, r.Err)
		}
	}
	for _, pc := range p.Pieces {
		fmt.Fprintf(&b, "piece %+v\n", pc)
	}
	for _, e := range p.Events {
		fmt.Fprintf(&b, "event %d %v %x %q %d %x\n", e.PCR, e.Type, e.Tag, e.Description, e.Size, e.Data)
		for _, a := range p.Banks {
			fmt.Fprintf(&b, "  %v %x (present %v)\n", a, e.Digests[a], e.Digests[a] != nil)
		}
		fmt.Fprintf(&b, "  %d digests\n", len(e.Digests))
	}
	for _, blob := range []struct {
		name string
		b    *Blob
	}{{"kernel", p.Kernel}, {"initrd", p.Initrd}} {
		if blob.b == nil {
			fmt.Fprintf(&b, "%s none\n", blob.name)
			continue
		}
		data, err := io.ReadAll(io.NewSectionReader(blob.b.File, 0, blob.b.Size+1))
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(data) != blob.b.SHA256 || int64(len(data)) != blob.b.Size {
			t.Errorf("%s: SHA256 or Size does not match its %d bytes", blob.name, len(data))
		}
		fmt.Fprintf(&b, "%s %d %x\n", blob.name, blob.b.Size, sha256.Sum256(data))
	}
	return b.String()
}

func passTarget(t testing.TB, esp, id string) Target {
	t.Helper()
	c, err := bls.Load([]string{esp}, bls.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, e := range c.Entries {
		if e.ID == id {
			tg, err := TargetOf(e)
			if err != nil {
				t.Fatal(err)
			}
			return tg
		}
	}
	t.Fatalf("no entry %s", id)
	return Target{}
}

// TestOnePassSameAsCopy: for every kind of UKI, under every verification
// mode and with one and three PCR banks, the one pass and the copy of
// the whole file give the same plan: events and digests, pieces, kernel
// and initrd bytes and SHA-256, verdict, notes, or the same error.
func TestOnePassSameAsCopy(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	strangers := ukitest.NewCA(t, "another CA", false)
	stranger := ukitest.NewLeaf(t, "stranger", false, strangers)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	policies := []struct {
		name string
		pol  Policy
	}{
		{"off/sha256", Policy{Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA256}}}},
		{"report/sha1+sha384", Policy{Verify: Verification{Mode: VerifyReport, Store: store}, Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA1, measure.SHA384}, Log: true}}},
		{"enforce/sha256", Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA256}}}},
		{"enforce/sha1+sha256+sha384+log", Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA1, measure.SHA256, measure.SHA384}, Log: true}}},
		{"enforce/max-size", Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, MaxSize: 1 << 20}},
	}
	for _, c := range passCorpus(t, key, stranger) {
		esp := t.TempDir()
		for name, data := range c.files {
			ukitest.WriteTree(t, esp, name, data)
		}
		tg := passTarget(t, esp, c.id)
		for _, pc := range policies {
			t.Run(c.name+"/"+pc.name, func(t *testing.T) {
				want := ranCopy
				switch {
				case pc.pol.MaxSize != 0:
					want = "" // too large: neither path reads it
				case c.refused && pc.pol.enforce():
					want = ranRefused
				case c.one:
					want = ranOnePass
				}
				if got := samePlans(t, tg, pc.pol); got != want {
					t.Fatalf("path taken: %q, want %q", got, want)
				}
				if trustedCase(c.name) && pc.pol.enforce() && pc.pol.MaxSize == 0 {
					p, err := Build(tg, pc.pol)
					if err != nil {
						t.Fatalf("not booted under enforce: %v", err)
					}
					p.Close()
				}
			})
		}
	}
}

// samePlans checks that the one pass and the whole-file copy give the
// same plan of tg under pol, and returns the path that read the UKI when
// the one pass was allowed.
func samePlans(t *testing.T, tg Target, pol Policy) string {
	t.Helper()
	copyPol := pol
	copyPol.pass = passCopy
	want, err := Build(tg, copyPol)
	wantText := planText(t, want, err)
	if err == nil {
		want.Close()
	}
	var ran string
	pol.ran = &ran
	got, err := Build(tg, pol)
	gotText := planText(t, got, err)
	if err == nil {
		got.Close()
	}
	if gotText != wantText {
		t.Errorf("%s:\n%s\nwhole-file copy:\n%s", ran, gotText, wantText)
	}
	return ran
}

// TestOnePassSameAsCopyObjcopy: a UKI made the way distributions made
// them before ukify (Debian's stub, sections added by objcopy, signed
// afterwards) gives the same plan through the one pass as through the
// copy, and the one pass takes it.
func TestOnePassSameAsCopyObjcopy(t *testing.T) {
	path := ukitest.ObjcopyUKI(t, t.TempDir(), []ukitest.Section{ukitest.S(".osrel", "ID=debian\n"), ukitest.S(".cmdline", "ro"),
		ukitest.S(".uname", "6.1.0"), ukitest.B(".initrd", ukitest.Noise(300000, 13)), ukitest.B(".linux", ukitest.Noise(1<<20+5, 14))})
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img = ukitest.PadTo8(img)
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	img = ukitest.AttachSignatures(img, ukitest.PKCS7(ukitest.SpecDigest(img, crypto.SHA256), crypto.SHA256, key))
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	for _, mode := range []VerifyMode{VerifyOff, VerifyEnforce} {
		t.Run(mode.String(), func(t *testing.T) {
			pol := Policy{Verify: Verification{Mode: mode, Store: store}}
			if got := samePlans(t, tg, pol); got != ranOnePass {
				t.Errorf("read by the %s, not the one pass", got)
			}
		})
	}
}

// flipFiles serves the UKI with the byte at flip changed in every read
// from the first one of at least 64 KiB on (the copy, after the headers
// were read): a file that changes while it is read.
type flipFiles struct {
	Files
	uki  string
	flip int64
}

func (f flipFiles) Open(name string) (File, error) {
	fl, err := f.Files.Open(name)
	if err != nil || name != f.uki {
		return fl, err
	}
	return &flipFile{File: fl, flip: f.flip}, nil
}

type flipFile struct {
	File
	flip    int64
	changed bool
}

func (f *flipFile) ReadAt(p []byte, off int64) (int, error) {
	f.changed = f.changed || len(p) >= 1<<16
	n, err := f.File.ReadAt(p, off)
	if f.changed && f.flip >= off && f.flip < off+int64(n) {
		p[f.flip-off] ^= 0x40
	}
	return n, err
}

// TestChangedWhileRead: a UKI that changes while it is read (after its
// headers were read to plan the read) is refused as changed, or
// untrusted (never booted under enforce), as each case and path pins;
// when it is booted (not enforced), the kernel is what its digests and
// events say.
func TestChangedWhileRead(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	kernel := ukitest.Noise(2<<20-100, 8) // VirtualSize 0x1fff9c: the flip makes it 0x1fffdc, still valid
	img := ukitest.SignedUKI(t, authenticode.ImageDigest, key, ukitest.S(".osrel", "ID=flip\n"), ukitest.S(".cmdline", "ro"),
		ukitest.B(".initrd", ukitest.Noise(1<<20, 9)), ukitest.B(".linux", kernel))
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "a.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	linux := f.Section(".linux")
	// The section table entry of .linux: VirtualSize is at +8.
	linuxEntry := f.Header.SectionTableOffset + int64(linux.Index)*40
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	// The outcomes: refused as changed while read (the one pass compares
	// what the pre-read saw with its private copy), or untrusted (the
	// copy's digest or signature no longer matches: under enforce
	// refused, else booted with an Untrusted verdict; booted without one
	// when verification is off).
	const changed, untrusted = "changed", "untrusted"
	for _, c := range []struct {
		name       string
		flip       int64
		modes      []VerifyMode
		auto, copy string // the outcome with the one pass allowed, and with the copy
	}{
		{".linux VirtualSize in the section table", linuxEntry + 8, []VerifyMode{VerifyOff, VerifyReport, VerifyEnforce}, changed, untrusted},
		{"a byte of .linux", int64(linux.PointerToRawData) + 1<<20 + 5, []VerifyMode{VerifyReport, VerifyEnforce}, untrusted, untrusted},
		{"the signature", int64(f.Header.CertTable().VirtualAddress) + 100, []VerifyMode{VerifyReport, VerifyEnforce}, changed, untrusted},
	} {
		for _, mode := range c.modes {
			for _, pass := range []passMode{passAuto, passCopy} {
				t.Run(fmt.Sprintf("%s/%v/pass=%d", c.name, mode, pass), func(t *testing.T) {
					tg := tg
					tg.Files = flipFiles{Files: tg.Files, uki: tg.UKI, flip: c.flip}
					p, err := Build(tg, Policy{Verify: Verification{Mode: mode, Store: store}, pass: pass})
					want := c.auto
					if pass == passCopy {
						want = c.copy
					}
					var ue *UntrustedError
					switch {
					case want == changed:
						if err == nil || !strings.Contains(err.Error(), "changed while it was read") {
							t.Fatalf("got %v, want it refused as changed while it was read", err)
						}
						return
					case mode == VerifyEnforce:
						if !errors.As(err, &ue) || ue.Verdict.Status == authenticode.Trusted {
							t.Fatalf("got %v, want an UntrustedError", err)
						}
						return
					case err != nil:
						t.Fatalf("not booted: %v", err)
					}
					defer p.Close()
					if mode == VerifyOff {
						if p.Verdict != nil {
							t.Errorf("verdict %v with verification off", p.Verdict)
						}
					} else if p.Verdict == nil || p.Verdict.Status == authenticode.Trusted {
						t.Errorf("verdict %v, want untrusted", p.Verdict)
					}
					checkKernelEvent(t, p)
				})
			}
		}
	}
}

// checkKernelEvent checks that the kernel is the bytes PCR 11's .linux
// event measured.
func checkKernelEvent(t *testing.T, p *Plan) {
	t.Helper()
	data, err := io.ReadAll(io.NewSectionReader(p.Kernel.File, 0, p.Kernel.Size+1))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	for _, e := range p.Events {
		if e.PCR == PCRKernelBoot && e.Description == ".linux" && e.Size > 7 {
			if e.Size != int64(len(data)) || !bytes.Equal(e.Digests[measure.SHA256], sum[:]) || sum != p.Kernel.SHA256 {
				t.Errorf("kernel of %d bytes, sha256 %x (Blob says %x); the .linux event says %d bytes, %x",
					len(data), sum, p.Kernel.SHA256, e.Size, e.Digests[measure.SHA256])
			}
			return
		}
	}
	t.Error("no .linux event")
}

// countFiles counts the bytes read from the UKI and, from the first read
// of at least 64 KiB on (the copy, not the headers), fails every read
// that reaches failAt (when not 0).
type countFiles struct {
	Files
	uki    string
	failAt int64
	read   *int64
}

func (f countFiles) Open(name string) (File, error) {
	fl, err := f.Files.Open(name)
	if err != nil || name != f.uki {
		return fl, err
	}
	return &countFile{File: fl, c: f}, nil
}

type countFile struct {
	File
	c       countFiles
	copying bool
}

func (f *countFile) ReadAt(p []byte, off int64) (int, error) {
	f.copying = f.copying || len(p) >= 1<<16
	if f.c.failAt > 0 && f.copying && off+int64(len(p)) > f.c.failAt {
		return 0, fmt.Errorf("disk error at %d", f.c.failAt)
	}
	n, err := f.File.ReadAt(p, off)
	*f.c.read += int64(n)
	return n, err
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(des)
}

// waitGoroutines fails unless the goroutine count drops back to before
// within a few seconds: goroutines that ended may not be reaped yet when
// the call that ended them returns.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before: goroutines leaked", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// TestOnePassRefusesEarly: under enforce, a UKI whose certificate table
// cannot be parsed is refused with the reason Verify gives, after
// reading its headers and table only.
func TestOnePassRefusesEarly(t *testing.T) {
	img := ukitest.AttachWinCerts(ukitest.PadTo8(ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.B(".linux", ukitest.Noise(1<<20, 10)))),
		ukitest.WinCert(0x0002, []byte{0x30, 0x82, 0xff}))
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	var read int64
	tg.Files = countFiles{Files: tg.Files, uki: tg.UKI, read: &read}
	var ran string
	_, err := Build(tg, Policy{Verify: Verification{Mode: VerifyEnforce, Store: authenticode.NewStore()}, ran: &ran})
	if ran != ranRefused {
		t.Errorf("path taken: %q, want %q", ran, ranRefused)
	}
	var ue *UntrustedError
	if !errors.As(err, &ue) {
		t.Fatalf("got %v, want an UntrustedError", err)
	}
	if read > 1<<16 {
		t.Errorf("%d of %d bytes read before refusing", read, len(img))
	}
}

// TestOnePassReadError: a read error in the middle of the pass is an
// error that names the file, and leaves no goroutine and no memfd
// behind.
func TestOnePassReadError(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	img := ukitest.SignedUKI(t, authenticode.ImageDigest, key, ukitest.S(".osrel", "ID=a\n"),
		ukitest.B(".initrd", ukitest.Noise(1<<20, 11)), ukitest.B(".linux", ukitest.Noise(3<<20, 12)))
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	for _, c := range []struct {
		name   string
		failAt int64
	}{
		{"in the initrd", 1 << 19},
		{"in the kernel", 3 << 20},
		{"in the certificate table", int64(len(img)) - 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			var read int64
			tg := tg
			tg.Files = countFiles{Files: tg.Files, uki: tg.UKI, failAt: c.failAt, read: &read}
			fds, routines := openFDs(t), runtime.NumGoroutine()
			p, err := Build(tg, Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}})
			if err == nil {
				p.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "a.efi") || !strings.Contains(err.Error(), "disk error") {
				t.Errorf("error %q does not name the file and the cause", err)
			}
			if n := openFDs(t); n != fds {
				t.Errorf("%d file descriptors open after the error, %d before", n, fds)
			}
			waitGoroutines(t, routines)
		})
	}
}

// TestOnePassBoundsMemory: a UKI with more than maxKeptBytes outside
// .linux, .ucode and .initrd is not read in one pass (the rest would be
// kept in the heap) but through the copy, with the same plan.
func TestOnePassBoundsMemory(t *testing.T) {
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"),
		ukitest.B(".big", make([]byte, maxKeptBytes+1)), ukitest.B(".linux", ukitest.Noise(4096, 15))))
	tg := passTarget(t, esp, "a.efi")
	if got := samePlans(t, tg, Policy{}); got != ranCopy {
		t.Errorf("read by the %s: the one pass would keep more than %d bytes in memory", got, maxKeptBytes)
	}
}

// allocDuring returns the bytes the Go heap handed out while f ran.
func allocDuring(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestOnePassZeroTailBoundedBeforeVerify: an unsigned UKI of a few KiB whose
// .linux has a zero tail as large as its (attacker-chosen)
// SectionAlignment is refused under enforce without allocating that tail:
// the copy path verifies first; the one pass must not allocate
// VirtualSize-SizeOfRawData bytes per bank before Verify runs. With
// SectionAlignment 0xffffffff the tail is ~4 GiB per bank.
func TestOnePassZeroTailBoundedBeforeVerify(t *testing.T) {
	const tail = 1 << 28 // 256 MiB here; the file allows ~4 GiB
	img := ukitest.Image{SectionAlignment: tail, Sections: []ukitest.Section{
		ukitest.S(".osrel", "ID=a\n"),
		{Name: ".linux", Data: ukitest.Noise(4096, 20), VirtualSize: 4096 + tail},
	}}.Bytes()
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	for _, pass := range []passMode{passCopy, passAuto} {
		pol := Policy{Verify: Verification{Mode: VerifyEnforce, Store: authenticode.NewStore()},
			Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA256}}, pass: pass}
		var err error
		n := allocDuring(func() {
			var p *Plan
			p, err = Build(tg, pol)
			if err == nil {
				p.Close()
			}
		})
		var ue *UntrustedError
		if !errors.As(err, &ue) {
			t.Errorf("pass=%d: got %v, want an UntrustedError", pass, err)
		}
		if n > 32<<20 {
			t.Errorf("pass=%d: %d MiB allocated to refuse a %d-byte unsigned UKI", pass, n>>20, len(img))
		}
	}
}

// TestOnePassOddLayoutsSameAsCopy: odd layouts (VirtualSize below the
// raw size, an .initrd with no file data, bytes after the last section,
// zero tails on .ucode and .initrd, .ucode after .initrd) are read in
// one pass and give the same plan as the copy, under every mode.
func TestOnePassOddLayoutsSameAsCopy(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	k, i, u := ukitest.Noise(1<<20+17, 21), ukitest.Noise(70001, 22), ukitest.Noise(3001, 23)
	sign := func(secs ...ukitest.Section) []byte {
		return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
	}
	cases := []struct {
		name string
		img  []byte
	}{
		{"vs<raw", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".ucode", Data: u, VirtualSize: 1001},
			ukitest.Section{Name: ".initrd", Data: i, VirtualSize: 50001}, ukitest.Section{Name: ".linux", Data: k, VirtualSize: 1 << 19})},
		{"raw 0 initrd", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.B(".ucode", u), ukitest.Section{Name: ".initrd", VirtualSize: 100, RawSize: 0}, ukitest.B(".linux", k))},
		{"trailer", ukitest.Image{Sections: []ukitest.Section{ukitest.S(".osrel", "ID=a\n"), ukitest.B(".initrd", i), ukitest.B(".linux", k)}, Trailer: ukitest.Noise(777, 24)}.Bytes()},
		{"ucode after initrd, tails", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".initrd", Data: i, VirtualSize: uint32(len(i)) + 3},
			ukitest.Section{Name: ".ucode", Data: u, VirtualSize: uint32(len(u)) + 1}, ukitest.B(".linux", k))},
		{"initrd tail+ucode tail", sign(ukitest.S(".osrel", "ID=a\n"), ukitest.Section{Name: ".ucode", Data: u, VirtualSize: uint32(len(u)) + 2001},
			ukitest.Section{Name: ".initrd", Data: i, VirtualSize: uint32(len(i)) + 1}, ukitest.B(".linux", k))},
	}
	for _, c := range cases {
		name := c.name
		esp := t.TempDir()
		ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", c.img)
		tg := passTarget(t, esp, "a.efi")
		for _, mode := range []VerifyMode{VerifyOff, VerifyReport, VerifyEnforce} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				pol := Policy{Verify: Verification{Mode: mode, Store: store}, Measure: MeasurePolicy{Banks: measure.Banks{measure.SHA1, measure.SHA256}, Log: true}}
				if got := samePlans(t, tg, pol); got != ranOnePass {
					t.Errorf("read by the %s; this case is about the one pass", got)
				}
			})
		}
	}
}
