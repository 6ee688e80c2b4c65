// Package measure is the TPM side of a measured boot: the events systemd-boot
// and systemd-stub extend (which PCR, which TCG event type, which event data),
// their digests in every PCR bank computed in one pass over the measured bytes,
// the PCR values they predict from the reset value, the event log handed to
// the next OS, and extending them into a TPM 2.0.
//
// An event's digest is over the measured data (a UKI section, a command line
// in UTF-16, a cpio archive), not over its event data: the event data only
// describes it in the log, as with systemd's tpm_log_ipl_event() and
// tpm_log_tagged_event().
package measure

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"strings"
	"unicode/utf16"
)

// Alg is a TPM 2.0 hash algorithm identifier (TPM_ALG_ID), which names a
// PCR bank.
type Alg uint16

// The PCR banks TPMs have. SM3-256 is known by name so that a TPM with that
// bank active is reported (ukiboot cannot compute it), never silently skipped.
const (
	SHA1   Alg = 0x0004
	SHA256 Alg = 0x000B
	SHA384 Alg = 0x000C
	SHA512 Alg = 0x000D
	SM3256 Alg = 0x0012
)

var algNames = map[Alg]string{SHA1: "sha1", SHA256: "sha256", SHA384: "sha384", SHA512: "sha512", SM3256: "sm3_256"}

// String is the bank's name as Linux (/sys/class/tpm/tpm0/pcr-<name>) and
// systemd's logs spell it.
func (a Alg) String() string {
	if n, ok := algNames[a]; ok {
		return n
	}
	return fmt.Sprintf("alg-0x%04x", uint16(a))
}

// Supported says whether ukiboot can compute digests for the bank.
func (a Alg) Supported() bool { return a.New() != nil }

// Size is the digest size in bytes (0 when unknown).
func (a Alg) Size() int {
	switch a {
	case SHA1:
		return sha1.Size
	case SHA256, SM3256:
		return 32
	case SHA384:
		return sha512.Size384
	case SHA512:
		return sha512.Size
	}
	return 0
}

// New returns a new hash of bank a, or nil when ukiboot cannot compute it
// (see Supported).
func (a Alg) New() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New()
	case SHA256:
		return sha256.New()
	case SHA384:
		return sha512.New384()
	case SHA512:
		return sha512.New()
	}
	return nil
}

// ParseAlg reads a bank name (sha1, sha256, sha384, sha512; any case).
func ParseAlg(s string) (Alg, error) {
	for a, n := range algNames {
		if strings.EqualFold(s, n) && a.Supported() {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown PCR bank %q (use sha1, sha256, sha384 or sha512)", s)
}

// Banks is a set of PCR banks, in TPM_ALG_ID order.
type Banks []Alg

// ParseBanks reads a comma-separated list of bank names.
func ParseBanks(s string) (Banks, error) {
	var b Banks
	for _, f := range strings.Split(s, ",") {
		a, err := ParseAlg(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		b = append(b, a)
	}
	return b.normal(), nil
}

func (b Banks) normal() Banks {
	b = slices.Clone(b)
	slices.Sort(b)
	return slices.Compact(b)
}

func (b Banks) String() string {
	s := make([]string, len(b))
	for i, a := range b {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// DefaultBanks are the banks a plan is computed for when there is no TPM
// to ask: SHA-256, the bank systemd's policies use.
var DefaultBanks = Banks{SHA256}

// Digests holds one digest per bank.
type Digests map[Alg][]byte

// Hasher computes the digest of every bank in one pass: it is an io.Writer.
type Hasher struct {
	banks  Banks
	hashes []hash.Hash
}

// NewHasher returns a Hasher for banks; banks ukiboot cannot compute are
// left out (the caller reports them: Banks.Unsupported).
func NewHasher(banks Banks) *Hasher {
	h := &Hasher{}
	for _, a := range banks {
		if f := a.New(); f != nil {
			h.banks = append(h.banks, a)
			h.hashes = append(h.hashes, f)
		}
	}
	return h
}

// Write hashes p into every bank; it never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	for _, f := range h.hashes {
		f.Write(p)
	}
	return len(p), nil
}

// Sum returns the digests of what was written.
func (h *Hasher) Sum() Digests {
	d := make(Digests, len(h.banks))
	for i, a := range h.banks {
		d[a] = h.hashes[i].Sum(nil)
	}
	return d
}

// Sum returns the digests of data in every bank.
func Sum(banks Banks, data []byte) Digests {
	h := NewHasher(banks)
	h.Write(data)
	return h.Sum()
}

// Unsupported are the banks in b that ukiboot cannot compute.
func (b Banks) Unsupported() Banks {
	var out Banks
	for _, a := range b {
		if !a.Supported() {
			out = append(out, a)
		}
	}
	return out
}

// EventType is a TCG PC Client event type.
type EventType uint32

// The event types systemd-boot, systemd-stub and ukiboot log.
const (
	EvSeparator EventType = 0x00000004
	EvEventTag  EventType = 0x00000006
	EvIPL       EventType = 0x0000000D
)

func (t EventType) String() string {
	switch t {
	case EvSeparator:
		return "EV_SEPARATOR"
	case EvEventTag:
		return "EV_EVENT_TAG"
	case EvIPL:
		return "EV_IPL"
	}
	return fmt.Sprintf("0x%08x", uint32(t))
}

// Tag ids of systemd's EV_EVENT_TAG events (src/fundamental/tpm2-pcr.h).
const (
	TagLoaderConf      uint32 = 0xf5bc582a
	TagDevicetreeAddon uint32 = 0x6c46f751
	TagInitrdAddon     uint32 = 0x49dffe0f
	TagUcodeAddon      uint32 = 0xdac08e1a
	TagUKIProfile      uint32 = 0x13aed6db
)

// The PCRs systemd measures into (src/fundamental/tpm2-pcr.h) and the one
// ukiboot measures its verification policy into.
const (
	PCRBootLoaderConfig = 5
	PCRSecureBootPolicy = 7
	PCRKernelBoot       = 11
	PCRKernelConfig     = 12
	PCRSysexts          = 13
)

// Event is one measurement: Digests of the measured data are extended
// into PCR, and the log records Type and the event data (EventData).
type Event struct {
	PCR  int
	Type EventType
	// Tag is the tag id of an EV_EVENT_TAG event.
	Tag uint32
	// Description is what the event data says: systemd-stub writes it as
	// UTF-16LE with its NUL (for EV_IPL and EV_EVENT_TAG events).
	Description string
	// Data, when not nil, is the raw event data instead (EV_SEPARATOR).
	Data []byte
	// Digests of the measured bytes, one per bank.
	Digests Digests
	// Size of the measured bytes.
	Size int64
}

// EventData is the event's data as it appears in a TCG event log:
// for EV_IPL the description in UTF-16LE with a NUL; for EV_EVENT_TAG
// TCG_PCClientTaggedEvent (tag id, size, then that string).
func (e Event) EventData() []byte {
	if e.Data != nil {
		return e.Data
	}
	s := UTF16Z(e.Description)
	if e.Type != EvEventTag {
		return s
	}
	b := make([]byte, 8, 8+len(s))
	binary.LittleEndian.PutUint32(b, e.Tag)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(s)))
	return append(b, s...)
}

// UTF16Z encodes s as UTF-16LE with a terminating NUL, as systemd's
// char16_t strings are measured and logged.
func UTF16Z(s string) []byte {
	u := utf16.Encode([]rune(s + "\x00"))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// Separator returns the event ukiboot extends into pcr before a shell can
// be reached: after it, no PCR value a secret was sealed to can be
// reached again until the machine resets. The measured data are the four
// bytes of the TCG separator for an error (0x00000001).
func Separator(banks Banks, pcr int) Event {
	data := []byte{1, 0, 0, 0}
	return Event{PCR: pcr, Type: EvSeparator, Description: "ukiboot: shell reachable", Data: data, Digests: Sum(banks, data), Size: 4}
}

// Reset is the value PCR 0-15 have after a TPM reset, in bank a.
func Reset(a Alg) []byte { return make([]byte, a.Size()) }

// Replay extends events into PCRs starting from the reset value, in every
// bank of banks, and returns the final values of the PCRs that were
// extended.
func Replay(banks Banks, events []Event) map[int]Digests {
	pcrs := map[int]Digests{}
	for _, e := range events {
		v, ok := pcrs[e.PCR]
		if !ok {
			v = Digests{}
			for _, a := range banks {
				if a.Supported() {
					v[a] = Reset(a)
				}
			}
			pcrs[e.PCR] = v
		}
		for a, cur := range v {
			h := a.New()
			h.Write(cur)
			h.Write(e.Digests[a])
			v[a] = h.Sum(nil)
		}
	}
	return pcrs
}

// Equal says whether d and o hold the same digests.
func (d Digests) Equal(o Digests) bool {
	if len(d) != len(o) {
		return false
	}
	for a, v := range d {
		if !bytes.Equal(v, o[a]) {
			return false
		}
	}
	return true
}
