package measure

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// h reads hex written field by field: spaces, newlines and "#" comments
// (to the end of the line) are left out.
func h(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad hex in the test: %v", err)
	}
	return b
}

// scripted is a TPM that answers each command with the next of rsps and
// records the commands written. Its reads return at most chunks[i]
// bytes, the last of chunks for the reads after (0 or none: as many as
// asked for).
type scripted struct {
	rsps   [][]byte
	chunks []int
	sent   [][]byte
	cur    []byte
}

func (s *scripted) Write(p []byte) (int, error) {
	s.sent = append(s.sent, bytes.Clone(p))
	if len(s.rsps) > 0 {
		s.cur, s.rsps = s.rsps[0], s.rsps[1:]
	}
	return len(p), nil
}

func (s *scripted) Read(p []byte) (int, error) {
	if len(s.cur) == 0 {
		return 0, io.EOF
	}
	if len(s.chunks) > 0 {
		if c := s.chunks[0]; c > 0 && len(p) > c {
			p = p[:c]
		}
		if len(s.chunks) > 1 {
			s.chunks = s.chunks[1:]
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func (s *scripted) Close() error { return nil }

// The commands, written out from TCG TPM 2.0 Library Part 3 (the
// command's table) and Part 2 (each structure's fields).
func TestCommandBytes(t *testing.T) {
	sha1 := bytes.Repeat([]byte{0x11}, 20)
	sha256 := bytes.Repeat([]byte{0x22}, 32)
	sha384 := bytes.Repeat([]byte{0x33}, 48)
	for _, c := range []struct {
		name string
		got  []byte
		want string
	}{
		{"GetCapability(TPM_CAP_PCRS)", getCapabilityPCRs(), `
			8001      # tag: TPM_ST_NO_SESSIONS
			00000016  # commandSize: 22
			0000017a  # commandCode: TPM_CC_GetCapability
			00000005  # capability: TPM_CAP_PCRS
			00000000  # property
			00000001  # propertyCount`},
		{"PCR_Read(11, sha256)", pcrRead(11, SHA256), `
			8001      # tag: TPM_ST_NO_SESSIONS
			00000014  # commandSize: 20
			0000017e  # commandCode: TPM_CC_PCR_Read
			00000001  # pcrSelectionIn: TPML_PCR_SELECTION.count
			000b      #   TPMS_PCR_SELECTION.hash: TPM_ALG_SHA256
			03        #   sizeofSelect: 3 (PCR_SELECT_MIN, 24 PCRs)
			000800    #   pcrSelect: PCR 11 is bit 3 of byte 1`},
		{"PCR_Read(0, sha1)", pcrRead(0, SHA1), `
			8001 00000014 0000017e
			00000001 0004 03 010000  # PCR 0: bit 0 of byte 0`},
		{"PCR_Read(23, sha384)", pcrRead(23, SHA384), `
			8001 00000014 0000017e
			00000001 000c 03 000080  # PCR 23: bit 7 of byte 2`},
		{"PCR_Read(24, sha512)", pcrRead(24, SHA512), `
			8001 00000015 0000017e   # commandSize: 21
			00000001 000d 04 00000001  # PCR 24 needs a fourth byte`},
		{"PCR_Extend(16, sha1+sha256+sha384)", pcrExtend(16, Banks{SHA1, SHA256, SHA384}, Digests{SHA1: sha1, SHA256: sha256, SHA384: sha384}), `
			8002      # tag: TPM_ST_SESSIONS
			00000089  # commandSize: 10+4+4+9+4+(2+20)+(2+32)+(2+48) = 137
			00000182  # commandCode: TPM_CC_PCR_Extend
			00000010  # pcrHandle: PCR 16
			00000009  # authorizationSize: one TPMS_AUTH_COMMAND of 9 bytes
			40000009  #   sessionHandle: TPM_RS_PW
			0000      #   nonceCaller: empty
			00        #   sessionAttributes
			0000      #   hmac: the empty password
			00000003  # digests: TPML_DIGEST_VALUES.count
			0004 1111111111111111111111111111111111111111  # TPMT_HA: TPM_ALG_SHA1, 20 bytes
			000b 2222222222222222222222222222222222222222222222222222222222222222  # SHA256
			000c 333333333333333333333333333333333333333333333333
			     333333333333333333333333333333333333333333333333  # SHA384, 48 bytes`},
		{"PCR_Extend(11, sha256)", pcrExtend(11, Banks{SHA256}, Digests{SHA256: sha256}), `
			8002 00000041 00000182   # commandSize: 10+4+4+9+4+2+32 = 65
			0000000b                 # pcrHandle: PCR 11
			00000009 40000009 0000 00 0000
			00000001 000b 2222222222222222222222222222222222222222222222222222222222222222`},
	} {
		if want := h(t, c.want); !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, c.got, want)
		}
	}
}

// TestExtendSendsBanksInOrder checks the command Extend sends: every
// bank's digest, in TPM_ALG_ID order whatever the map's, and that the
// password session's response is accepted.
func TestExtendSendsBanksInOrder(t *testing.T) {
	ok := h(t, `8002 00000013 00000000  # TPM_ST_SESSIONS, 19 bytes, TPM_RC_SUCCESS
		00000000  # parameterSize: PCR_Extend returns no parameters
		0000 01 0000  # TPMS_AUTH_RESPONSE: empty nonceTPM, continueSession, empty hmac`)
	dg := Sum(Banks{SHA384, SHA1, SHA256}, []byte("x"))
	for range 5 { // map order varies from run to run
		s := &scripted{rsps: [][]byte{ok}}
		if err := (&device{rw: s, name: "tpm"}).Extend(7, dg); err != nil {
			t.Fatal(err)
		}
		want := pcrExtend(7, Banks{SHA1, SHA256, SHA384}, dg)
		if len(s.sent) != 1 || !bytes.Equal(s.sent[0], want) {
			t.Fatalf("sent %x, want %x", s.sent, want)
		}
	}
}

// A TPM_CAP_PCRS response of four banks: SHA-1 and SHA-384 active,
// SHA-256 with no PCR selected (not allocated), SM3-256 active.
const capPCRsResponse = `
	8001 0000002b 00000000  # TPM_ST_NO_SESSIONS, 43 bytes, TPM_RC_SUCCESS
	00                      # moreData: NO
	00000005                # capability: TPM_CAP_PCRS
	00000004                # TPML_PCR_SELECTION.count
	0004 03 ffffff          # sha1: all 24 PCRs
	000b 03 000000          # sha256: none
	0012 03 000001          # sm3_256: PCR 16 only
	000c 03 ffffff          # sha384`

func TestBanks(t *testing.T) {
	s := &scripted{rsps: [][]byte{h(t, capPCRsResponse)}}
	b, err := (&device{rw: s, name: "tpm"}).Banks()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Banks{SHA1, SHA384, SM3256}); b.String() != want.String() {
		t.Errorf("Banks() = %s, want %s", b, want)
	}
	if !bytes.Equal(s.sent[0], getCapabilityPCRs()) {
		t.Errorf("sent %x", s.sent[0])
	}
}

// A TPM2_PCR_Read response for PCR 11 of SHA-256.
const pcrReadResponse = `
	8001 0000003e 00000000  # TPM_ST_NO_SESSIONS, 62 bytes, TPM_RC_SUCCESS
	00000017                # pcrUpdateCounter
	00000001 000b 03 000800 # pcrSelectionOut: PCR 11 of sha256
	00000001                # pcrValues: TPML_DIGEST.count
	0020 abababababababababababababababababababababababababababababababab`

func TestRead(t *testing.T) {
	s := &scripted{rsps: [][]byte{h(t, pcrReadResponse)}}
	v, err := (&device{rw: s, name: "tpm"}).Read(11, SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat([]byte{0xab}, 32); !bytes.Equal(v, want) {
		t.Errorf("Read = %x, want %x", v, want)
	}
	if !bytes.Equal(s.sent[0], pcrRead(11, SHA256)) {
		t.Errorf("sent %x", s.sent[0])
	}
}

// TestTransmitInParts checks that a response that comes in parts (a
// stream socket) is read whole, and only up to its size.
func TestTransmitInParts(t *testing.T) {
	for _, chunks := range [][]int{{1}, {3}, {9}, {10}, {11}, {61}, {62}, {5, 0}, {10, 0}, {12, 0}} {
		rsp := h(t, pcrReadResponse)
		s := &scripted{rsps: [][]byte{append(rsp, 0xee)}, chunks: chunks}
		got, err := transmit(s, []byte("cmd"))
		if err != nil || !bytes.Equal(got, rsp) {
			t.Errorf("reads of %v bytes: %x, %v; want %x", chunks, got, err, rsp)
		}
		if !bytes.Equal(s.cur, []byte{0xee}) {
			t.Errorf("reads of %v bytes: %x left unread, want ee", chunks, s.cur)
		}
	}
}

// rsp is a response of tag and response code rc with body (hex, as h
// reads it): its size field is computed.
func rsp(t testing.TB, tag uint16, rc uint32, body string) []byte {
	t.Helper()
	b := h(t, body)
	out := binary.BigEndian.AppendUint16(nil, tag)
	out = binary.BigEndian.AppendUint32(out, uint32(headerSize+len(b)))
	out = binary.BigEndian.AppendUint32(out, rc)
	return append(out, b...)
}

// TestMalformedResponses checks that what a broken TPM or bus could
// return is an error, naming the command, and never a value.
func TestMalformedResponses(t *testing.T) {
	const (
		sel11  = "00000001 000b 03 000800" // PCR 11 of sha256
		value  = "00000001 0020 abababababababababababababababababababababababababababababababab"
		noSess = stNoSessions
	)
	for _, c := range []struct {
		name, cmd string
		rsp       []byte
		want      string
	}{
		{"empty", "read", nil, "TPM2_PCR_Read: short response (0 bytes)"},
		{"short header", "read", h(t, "8001 0000"), "short response (4 bytes)"},
		{"size field below the header", "read", h(t, "8001 00000009 00000000"), "response size field 9"},
		{"size field above 4096", "read", h(t, "8001 00001001 00000000"), "response size field 4097"},
		{"size field beyond the bytes", "read", h(t, "8001 00000010 00000000 00"), "short response (11 bytes)"},
		{"size field within the bytes", "read", h(t, "8001 0000000a 00000000 00"), "response of 11 bytes, its size field says 10"},
		{"error code", "read", rsp(t, noSess, 0x101, ""), "TPM2_PCR_Read: TPM error 0x101"},
		{"format-1 parameter", "read", rsp(t, noSess, 0x1c4, ""), "TPM error 0x1c4 (parameter 1)"},
		{"format-1 handle", "extend", rsp(t, noSess, 0x18b, ""), "TPM2_PCR_Extend: TPM error 0x18b (handle 1)"},
		{"format-1 session", "extend", rsp(t, noSess, 0x98e, ""), "TPM error 0x98e (session 1)"},
		{"format-1, no number", "extend", rsp(t, noSess, 0x084, ""), "TPM error 0x084"},
		{"warning", "banks", rsp(t, noSess, 0x922, ""), "TPM2_GetCapability: TPM error 0x922"},
		{"TPM 1.2 error", "banks", rsp(t, stRspCommand, 0x1e, ""), "TPM error 0x01e"},
		{"error code, bad tag", "banks", rsp(t, 0x1234, 0x101, ""), "response tag 0x1234 with response code 0x101"},
		{"wrong tag", "read", rsp(t, stSessions, 0, "00000017"+sel11+value), "response tag 0x8002, want 0x8001"},
		{"extend without sessions", "extend", rsp(t, noSess, 0, ""), "response tag 0x8001, want 0x8002"},
		{"extend, session truncated", "extend", rsp(t, stSessions, 0, "00000000 0000 01"), "truncated response"},
		{"extend, nonce too long", "extend", rsp(t, stSessions, 0, "00000000 0100 01 0000"), "truncated response"},
		{"extend, parameter size too large", "extend", rsp(t, stSessions, 0, "ffffffff 0000 01 0000"), "truncated response"},
		{"extend, trailing bytes", "extend", rsp(t, stSessions, 0, "00000000 0000 01 0000 ff"), "1 unexpected bytes"},
		{"banks, wrong capability", "banks", rsp(t, noSess, 0, "00 00000006 00000000"), "capability 0x6"},
		{"banks, count too large", "banks", rsp(t, noSess, 0, "00 00000005 00000002 0004 03 ff"), "PCR selection count 2 too large"},
		{"banks, count huge", "banks", rsp(t, noSess, 0, "00 00000005 ffffffff"), "PCR selection count 4294967295 too large"},
		{"banks, select size too large", "banks", rsp(t, noSess, 0, "00 00000005 00000001 0004 ff ffffff"), "truncated PCR selection"},
		{"banks, truncated", "banks", rsp(t, noSess, 0, "00 0000"), "truncated"},
		{"banks, trailing bytes", "banks", rsp(t, noSess, 0, "00 00000005 00000001 0004 03 ffffff 00"), "1 unexpected bytes"},
		{"read, another PCR", "read", rsp(t, noSess, 0, "00000017 00000001 000b 03 001000"+value), "not PCR 11 of bank sha256 alone"},
		{"read, another bank", "read", rsp(t, noSess, 0, "00000017 00000001 000c 03 000800"+value), "not PCR 11 of bank sha256 alone"},
		{"read, more PCRs", "read", rsp(t, noSess, 0, "00000017 00000001 000b 03 000801"+value), "not PCR 11 of bank sha256 alone"},
		{"read, short select", "read", rsp(t, noSess, 0, "00000017 00000001 000b 01 00"+value), "not PCR 11 of bank sha256 alone"},
		{"read, two selections", "read", rsp(t, noSess, 0, "00000017 00000002 000b 03 000800 000b 03 000800"+value), "read 2 PCR selections"},
		{"read, bank not active", "read", rsp(t, noSess, 0, "00000017 00000000 00000000"), "read 0 PCR selections"},
		{"read, two values", "read", rsp(t, noSess, 0, "00000017"+sel11+"00000002 0020"+strings.Repeat("ab", 32)+"0020"+strings.Repeat("ab", 32)), "the TPM returned 2 values"},
		{"read, no value", "read", rsp(t, noSess, 0, "00000017"+sel11+"00000000"), "the TPM returned 0 values"},
		{"read, value too short", "read", rsp(t, noSess, 0, "00000017"+sel11+"00000001 0020"+strings.Repeat("ab", 31)), "truncated response"},
		{"read, digest size beyond", "read", rsp(t, noSess, 0, "00000017"+sel11+"00000001 ffff"), "truncated response"},
		{"read, sha1-sized value", "read", rsp(t, noSess, 0, "00000017"+sel11+"00000001 0014"+strings.Repeat("ab", 20)), "a 20-byte value, want 32"},
		{"read, trailing bytes", "read", rsp(t, noSess, 0, "00000017"+sel11+value+"00"), "1 unexpected bytes"},
		{"read, truncated counter", "read", rsp(t, noSess, 0, "0000"), "truncated"},
	} {
		s := &scripted{rsps: [][]byte{c.rsp}}
		d := &device{rw: s, name: "tpm"}
		var err error
		switch c.cmd {
		case "read":
			var v []byte
			if v, err = d.Read(11, SHA256); v != nil {
				t.Errorf("%s: Read returned %x", c.name, v)
			}
		case "banks":
			var b Banks
			if b, err = d.Banks(); b != nil {
				t.Errorf("%s: Banks returned %s", c.name, b)
			}
		case "extend":
			err = d.Extend(11, Sum(Banks{SHA256}, nil))
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestErrorShapes checks the errors' prefixes, which the boot's messages
// and the supervisor's FATAL line show.
func TestErrorShapes(t *testing.T) {
	fail := h(t, `8001 0000000a 00000184`)
	d := &device{rw: &scripted{rsps: [][]byte{fail, fail, fail}}, name: "/dev/tpmrm0"}
	_, err := d.Banks()
	checkErr(t, err, "/dev/tpmrm0: reading the PCR banks: TPM2_GetCapability: TPM error 0x184 (handle 1)")
	_, err = d.Read(12, SHA384)
	checkErr(t, err, "/dev/tpmrm0: reading PCR 12 (sha384): TPM2_PCR_Read: TPM error 0x184 (handle 1)")
	err = d.Extend(13, Sum(Banks{SHA1}, nil))
	checkErr(t, err, "/dev/tpmrm0: extending PCR 13: TPM2_PCR_Extend: TPM error 0x184 (handle 1)")
	var rc responseCode
	if !errors.As(err, &rc) || rc != 0x184 {
		t.Errorf("errors.As(%v) = %#x", err, rc)
	}
	// Refused before anything is sent.
	err = d.Extend(11, Digests{SHA256: []byte{1, 2, 3}})
	checkErr(t, err, "/dev/tpmrm0: extending PCR 11: the sha256 digest has 3 bytes, want 32")
	err = d.Extend(11, Digests{Alg(0x0099): []byte{1, 2, 3}})
	checkErr(t, err, "/dev/tpmrm0: extending PCR 11: no digest size is known for bank alg-0x0099")
	err = d.Extend(-1, Sum(Banks{SHA1}, nil))
	checkErr(t, err, "/dev/tpmrm0: extending PCR -1: no such PCR (0-255)")
	_, err = d.Read(256, SHA1)
	checkErr(t, err, "/dev/tpmrm0: reading PCR 256 (sha1): no such PCR (0-255)")
	if s := d.rw.(*scripted); len(s.sent) != 3 {
		t.Errorf("%d commands sent, want 3", len(s.sent))
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

func TestOpenRefusesNonDevices(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tpm0")
	if _, err := openDevice(f); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("openDevice(a missing file) = %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openDevice(f); err == nil || !strings.Contains(err.Error(), "not a TPM device") {
		t.Errorf("openDevice(a regular file) = %v", err)
	}
}

// TestOpenDeviceBlocks: the device is opened in blocking mode, so that
// Linux's TPM driver runs a command within write and read returns its
// response (non-blocking, a read before the TPM answered returns 0
// bytes). /dev/ptmx stands in for the TPM: a character device that
// supports poll, which os.OpenFile would make non-blocking.
func TestOpenDeviceBlocks(t *testing.T) {
	f, err := openDevice("/dev/ptmx")
	if err != nil {
		t.Skipf("no /dev/ptmx to stand in for a TPM: %v", err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	// Control, unlike Fd, does not change the file's mode.
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Error("the TPM device was opened non-blocking: the driver would answer reads before the TPM does with 0 bytes")
	}
}
