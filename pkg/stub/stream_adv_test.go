package stub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// streamFiles makes the UKI a Streamer whose Stream gives body (then
// tail, an error or an early io.EOF), as a hostile server's GET would.
type streamFiles struct {
	Files
	uki  string
	body []byte
	err  error // after body; nil: io.EOF
	eofN bool  // return the last bytes together with io.EOF
	flip int64 // when not 0, a byte ReadAt (the Range pre-read) gives flipped
	s    *streamStats
}

type streamStats struct{ streams, readsAfter int }

func (f streamFiles) Open(name string) (File, error) {
	fl, err := f.Files.Open(name)
	if err != nil || name != f.uki {
		return fl, err
	}
	return &streamFile{File: fl, f: f}, nil
}

type streamFile struct {
	File
	f        streamFiles
	streamed bool
}

func (s *streamFile) ReadAt(p []byte, off int64) (int, error) {
	if s.streamed {
		s.f.s.readsAfter++
		for i := range p {
			p[i] = 0xAA // what a second request could give: must never be used
		}
		return len(p), nil
	}
	n, err := s.File.ReadAt(p, off)
	if fl := s.f.flip; fl != 0 && fl >= off && fl < off+int64(n) {
		p[fl-off] ^= 0x40
	}
	return n, err
}

func (s *streamFile) Stream() (io.ReadCloser, error) {
	s.streamed = true
	s.f.s.streams++
	return io.NopCloser(&hostileReader{b: s.f.body, err: s.f.err, eofN: s.f.eofN}), nil
}

type hostileReader struct {
	b    []byte
	err  error
	eofN bool
}

func (r *hostileReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	if len(r.b) == 0 && r.eofN && r.err == nil {
		return n, io.EOF
	}
	return n, nil
}

// TestStreamerHostile: whatever a Streamer's one stream gives (more or
// fewer bytes than Stat said, bytes then an error, an early io.EOF with
// data, other bytes than the Range pre-read), under enforce the UKI is
// booted only when the kernel booted is the signed one; Stream is called
// once and nothing is read with ReadAt after it.
func TestStreamerHostile(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	kernel := ukitest.Noise(2<<20+17, 31)
	img := ukitest.SignedUKI(t, authenticode.ImageDigest, key, ukitest.S(".osrel", "ID=s\nVERSION_ID=2\n"), ukitest.S(".cmdline", "ro"),
		ukitest.B(".initrd", ukitest.Noise(300000, 32)), ukitest.B(".linux", kernel))
	f, err := uki.Read(bytes.NewReader(img), int64(len(img)), "a.efi", uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	lin := int64(f.Section(".linux").PointerToRawData)
	linEntry := f.Header.SectionTableOffset + int64(f.Section(".linux").Index)*40
	flipped := bytes.Clone(img)
	flipped[lin+1<<20] ^= 1
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "EFI/Linux/a.efi", img)
	tg := passTarget(t, esp, "a.efi")
	for _, c := range []struct {
		name string
		body []byte
		err  error
		eofN bool
		flip int64
		boot bool
	}{
		{"the same bytes", img, nil, false, 0, true},
		{"the pre-read sees another .linux VirtualSize", img, nil, false, linEntry + 8, true}, // refused as changed, or the copy decides
		{"the pre-read sees another signature byte", img, nil, false, int64(f.Header.CertTable().VirtualAddress) + 100, true},
		{"the same bytes, io.EOF with the last", img, nil, true, 0, true},
		{"longer than Stat", append(bytes.Clone(img), bytes.Repeat([]byte{0x55}, 5000)...), nil, false, 0, true},
		{"shorter than Stat", img[:len(img)-8], nil, false, 0, false},
		{"shorter, io.EOF with data", img[:len(img)/2], nil, true, 0, false},
		{"bytes then an error", img[:len(img)/2], errors.New("connection reset"), false, 0, false},
		{"all bytes then an error", img, errors.New("connection reset"), false, 0, true}, // LimitReader stops first
		{"a kernel byte changed", flipped, nil, false, 0, false},
	} {
		for _, pass := range []passMode{passAuto, passCopy} {
			t.Run(fmt.Sprintf("%s/pass=%d", c.name, pass), func(t *testing.T) {
				st := &streamStats{}
				tg := tg
				tg.Files = streamFiles{Files: tg.Files, uki: tg.UKI, body: c.body, err: c.err, eofN: c.eofN, flip: c.flip, s: st}
				p, err := Build(tg, Policy{Verify: Verification{Mode: VerifyEnforce, Store: store}, pass: pass})
				if st.streams > 1 {
					t.Errorf("Stream called %d times", st.streams)
				}
				if st.readsAfter > 0 {
					t.Errorf("%d ReadAt calls after Stream", st.readsAfter)
				}
				if c.flip != 0 && err != nil && strings.Contains(err.Error(), "changed while it was read") {
					return
				}
				if !c.boot {
					if err == nil {
						p.Close()
						t.Fatal("booted")
					}
					return
				}
				if err != nil {
					t.Fatalf("not booted: %v", err)
				}
				defer p.Close()
				if p.Verdict == nil || p.Verdict.Status != authenticode.Trusted {
					t.Fatalf("verdict %v", p.Verdict)
				}
				got, err := io.ReadAll(io.NewSectionReader(p.Kernel.File, 0, p.Kernel.Size+1))
				if err != nil || !bytes.Equal(got, kernel) {
					t.Fatalf("kernel of %d bytes is not the signed one (%v)", len(got), err)
				}
				checkKernelEvent(t, p)
			})
		}
	}
}
