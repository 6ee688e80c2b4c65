package measure

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

var threeBanks = Banks{SHA1, SHA256, SHA384}

// TestReplayIndependent checks Replay against PCR extension written out
// by hand: new = H(old || digest), from zeros.
func TestReplayIndependent(t *testing.T) {
	a := Event{PCR: 11, Type: EvIPL, Description: ".linux", Digests: Sum(threeBanks, []byte(".linux\x00"))}
	b := Event{PCR: 11, Type: EvIPL, Description: ".linux", Digests: Sum(threeBanks, []byte("kernel"))}
	c := Event{PCR: 12, Type: EvIPL, Description: "x", Digests: Sum(threeBanks, UTF16Z("x"))}
	got := Replay(threeBanks, []Event{a, b, c})

	s256 := func(parts ...[]byte) []byte {
		h := sha256.New()
		for _, p := range parts {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	d1 := sha256.Sum256([]byte(".linux\x00"))
	d2 := sha256.Sum256([]byte("kernel"))
	want11 := s256(s256(make([]byte, 32), d1[:]), d2[:])
	if hex.EncodeToString(got[11][SHA256]) != hex.EncodeToString(want11) {
		t.Errorf("PCR 11 sha256 = %x, want %x", got[11][SHA256], want11)
	}
	x := []byte{'x', 0, 0, 0}
	d3 := sha1.Sum(x)
	h := sha1.New()
	h.Write(make([]byte, 20))
	h.Write(d3[:])
	if w := h.Sum(nil); hex.EncodeToString(got[12][SHA1]) != hex.EncodeToString(w) {
		t.Errorf("PCR 12 sha1 = %x, want %x", got[12][SHA1], w)
	}
	d4 := sha512.Sum384(x)
	h = sha512.New384()
	h.Write(make([]byte, 48))
	h.Write(d4[:])
	if w := h.Sum(nil); hex.EncodeToString(got[12][SHA384]) != hex.EncodeToString(w) {
		t.Errorf("PCR 12 sha384 = %x, want %x", got[12][SHA384], w)
	}
	if _, ok := got[13]; ok {
		t.Error("PCR 13 reported although no event extends it")
	}
}

func TestEventData(t *testing.T) {
	ipl := Event{Type: EvIPL, Description: ".osrel"}
	if got, want := hex.EncodeToString(ipl.EventData()), "2e006f007300720065006c000000"; got != want {
		t.Errorf("EV_IPL data = %s, want %s", got, want)
	}
	tag := Event{Type: EvEventTag, Tag: TagUKIProfile, Description: "1"}
	// tag id 0x13aed6db LE, size 4 LE, "1\0" in UTF-16LE.
	if got, want := hex.EncodeToString(tag.EventData()), "dbd6ae130400000031000000"; got != want {
		t.Errorf("EV_EVENT_TAG data = %s, want %s", got, want)
	}
	// Characters outside the BMP are surrogate pairs, as char16_t strings.
	if got, want := hex.EncodeToString(UTF16Z("\U0001F600")), "3dd800de0000"; got != want {
		t.Errorf("UTF16Z = %s, want %s", got, want)
	}
}

func TestParseBanks(t *testing.T) {
	b, err := ParseBanks("SHA384, sha1,sha256,sha1")
	if err != nil || !slices.Equal(b, threeBanks) {
		t.Fatalf("ParseBanks = %v, %v; want %v", b, err, threeBanks)
	}
	for _, bad := range []string{"", "md5", "sm3_256", "sha1,"} {
		if _, err := ParseBanks(bad); err == nil {
			t.Errorf("ParseBanks(%q) accepted", bad)
		}
	}
	if u := (Banks{SHA256, SM3256}).Unsupported(); !slices.Equal(u, Banks{SM3256}) {
		t.Errorf("Unsupported = %v", u)
	}
	if h := NewHasher(Banks{SHA256, SM3256}); len(h.Sum()) != 1 {
		t.Errorf("Hasher computes %d banks, want 1 (sm3_256 cannot be computed)", len(h.Sum()))
	}
}

func TestFakeMatchesReplayAndExtendStops(t *testing.T) {
	f := NewFake(threeBanks...)
	ev := []Event{
		{PCR: 11, Digests: Sum(threeBanks, []byte("a"))},
		{PCR: 12, Digests: Sum(threeBanks, []byte("b"))},
		{PCR: 11, Digests: Sum(threeBanks, []byte("c"))},
	}
	if n, err := Extend(f, ev); n != 3 || err != nil {
		t.Fatalf("Extend = %d, %v", n, err)
	}
	want := Replay(threeBanks, ev)
	for pcr, d := range want {
		if !f.PCRs[pcr].Equal(d) {
			t.Errorf("PCR %d: fake %v, replay %v", pcr, f.PCRs[pcr], d)
		}
	}
	if got, err := NotAtReset(f, threeBanks, []int{7, 11, 12, 13}); err != nil || !slices.Equal(got, []int{11, 12}) {
		t.Errorf("NotAtReset = %v, %v", got, err)
	}

	f = NewFake(threeBanks...)
	f.FailExtend, f.FailPCR = errors.New("locality"), 12
	if n, err := Extend(f, ev); n != 1 || err == nil {
		t.Errorf("Extend with a failing PCR 12 = %d, %v; want 1 and an error", n, err)
	}
	if slices.Contains(f.Calls, "extend 11") && len(f.Calls) != 2 {
		t.Errorf("calls after a failure: %v", f.Calls)
	}
}

func TestSeparatorIsNotAReplayOfReset(t *testing.T) {
	s := Separator(threeBanks, 11)
	if s.Type != EvSeparator || hex.EncodeToString(s.EventData()) != "01000000" {
		t.Errorf("separator = %v %x", s.Type, s.EventData())
	}
	if v := Replay(threeBanks, []Event{s}); slices.Equal(v[11][SHA256], Reset(SHA256)) {
		t.Error("separator leaves PCR 11 at reset")
	}
}
