package measure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// The TPM 2.0 wire format of the three commands ukiboot sends, from the
// TCG TPM 2.0 Library specification (Part 2 "Structures", Part 3
// "Commands"). Everything is big-endian. A command is a 10-byte header
// (tag, commandSize, commandCode), its handles, with TPM_ST_SESSIONS an
// authorization area (its size, then the sessions), then its parameters;
// a response is a 10-byte header (tag, responseSize, responseCode), then
// with TPM_ST_SESSIONS the parameters' size, the parameters and one
// response session per command session. A response is untrusted input:
// every length in it is checked against the bytes that are left.
const (
	stNoSessions = 0x8001 // TPM_ST_NO_SESSIONS
	stSessions   = 0x8002 // TPM_ST_SESSIONS
	stRspCommand = 0x00C4 // TPM_ST_RSP_COMMAND: a TPM 1.2-format error

	ccPCRExtend     = 0x00000182 // TPM_CC_PCR_Extend
	ccGetCapability = 0x0000017A // TPM_CC_GetCapability
	ccPCRRead       = 0x0000017E // TPM_CC_PCR_Read

	capPCRs = 0x00000005 // TPM_CAP_PCRS
	rsPW    = 0x40000009 // TPM_RS_PW: the password session

	headerSize = 10
	// maxResponse is the largest response a TPM 2.0 sends (MAX_RESPONSE_SIZE
	// of the PC Client platform, Linux's TPM_BUFSIZE).
	maxResponse = 4096
	// minSelect is PCR_SELECT_MIN of the PC Client platform (24 PCRs): a
	// PCR selection has at least 3 bytes.
	minSelect = 3
	// maxPCR is the highest PCR a selection (at most 32 bytes) can name.
	maxPCR = 255
)

// The command names errors use.
const (
	nameGetCapability = "TPM2_GetCapability"
	namePCRRead       = "TPM2_PCR_Read"
	namePCRExtend     = "TPM2_PCR_Extend"
)

// command returns a command: the header, then body.
func command(tag uint16, cc uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, headerSize+len(body)), tag)
	b = binary.BigEndian.AppendUint32(b, uint32(headerSize+len(body)))
	b = binary.BigEndian.AppendUint32(b, cc)
	return append(b, body...)
}

// getCapabilityPCRs is TPM2_GetCapability(TPM_CAP_PCRS): the TPM's PCR
// banks and which PCRs each has allocated.
func getCapabilityPCRs() []byte {
	b := binary.BigEndian.AppendUint32(nil, capPCRs) // capability
	b = binary.BigEndian.AppendUint32(b, 0)          // property: not used for TPM_CAP_PCRS
	b = binary.BigEndian.AppendUint32(b, 1)          // propertyCount
	return command(stNoSessions, ccGetCapability, b)
}

// pcrSelect is the pcrSelect bitmap of a TPMS_PCR_SELECTION naming only
// pcr: bit pcr%8 of byte pcr/8.
func pcrSelect(pcr int) []byte {
	s := make([]byte, max(minSelect, pcr/8+1))
	s[pcr/8] = 1 << (pcr % 8)
	return s
}

// pcrRead is TPM2_PCR_Read of pcr in bank a: a TPML_PCR_SELECTION of one
// TPMS_PCR_SELECTION.
func pcrRead(pcr int, a Alg) []byte {
	sel := pcrSelect(pcr)
	b := binary.BigEndian.AppendUint32(nil, 1)      // TPML_PCR_SELECTION.count
	b = binary.BigEndian.AppendUint16(b, uint16(a)) // hash
	b = append(b, byte(len(sel)))                   // sizeofSelect
	b = append(b, sel...)                           // pcrSelect
	return command(stNoSessions, ccPCRRead, b)
}

// pcrExtend is TPM2_PCR_Extend of pcr, authorized by the password session
// with an empty password (a PCR's authValue is empty unless the platform
// set one), with one TPMT_HA per bank, in banks' order. The digests'
// sizes must be the banks' (checkDigests).
func pcrExtend(pcr int, banks Banks, d Digests) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(pcr)) // pcrHandle: a PCR's handle is its number
	b = binary.BigEndian.AppendUint32(b, 4+2+1+2)        // authorizationSize: one TPMS_AUTH_COMMAND
	b = binary.BigEndian.AppendUint32(b, rsPW)           // sessionHandle
	b = binary.BigEndian.AppendUint16(b, 0)              // nonceCaller: an empty TPM2B_NONCE
	b = append(b, 0)                                     // sessionAttributes: none
	b = binary.BigEndian.AppendUint16(b, 0)              // hmac: the empty password (TPM2B_AUTH)
	b = binary.BigEndian.AppendUint32(b, uint32(len(banks)))
	for _, a := range banks {
		b = binary.BigEndian.AppendUint16(b, uint16(a)) // TPMT_HA.hashAlg
		b = append(b, d[a]...)                          // TPMT_HA.digest: the bank's size, no size field
	}
	return command(stSessions, ccPCRExtend, b)
}

// checkDigests checks that d has, for each bank, a digest of the bank's
// size.
func checkDigests(banks Banks, d Digests) error {
	for _, a := range banks {
		if a.Size() == 0 {
			return fmt.Errorf("no digest size is known for bank %s", a)
		}
		if len(d[a]) != a.Size() {
			return fmt.Errorf("the %s digest has %d bytes, want %d", a, len(d[a]), a.Size())
		}
	}
	return nil
}

func checkPCR(pcr int) error {
	if pcr < 0 || pcr > maxPCR {
		return fmt.Errorf("no such PCR (0-%d)", maxPCR)
	}
	return nil
}

// transmit sends cmd and returns the response, whole: up to maxResponse
// bytes, as many as its header's size field says. The first read asks
// for maxResponse bytes: a TPM character device returns a whole response
// to one read (reading one in parts needs Linux 4.18 or later, so it is
// never asked to); a stream socket (swtpm) may return it in parts, so the
// header is then read on, and the rest by its size field.
func transmit(rw io.ReadWriter, cmd []byte) ([]byte, error) {
	if n, err := rw.Write(cmd); err != nil || n != len(cmd) {
		if err == nil {
			err = io.ErrShortWrite
		}
		return nil, fmt.Errorf("sending the command: %w", err)
	}
	buf := make([]byte, maxResponse)
	n, err := rw.Read(buf)
	if err != nil && (n == 0 || !errors.Is(err, io.EOF)) {
		return nil, readError(n, err)
	}
	if n < headerSize {
		m, err := io.ReadFull(rw, buf[n:headerSize])
		if n += m; err != nil {
			return nil, readError(n, err)
		}
	}
	size := binary.BigEndian.Uint32(buf[2:6])
	if size < headerSize || size > maxResponse {
		return nil, fmt.Errorf("response size field %d (%d-%d)", size, headerSize, maxResponse)
	}
	if uint32(n) > size {
		return nil, fmt.Errorf("response of %d bytes, its size field says %d", n, size)
	}
	m, err := io.ReadFull(rw, buf[n:size])
	if n += m; err != nil {
		return nil, readError(n, err)
	}
	return buf[:n], nil
}

func readError(n int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("short response (%d bytes): %w", n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("reading the response: %w", err)
}

// checkResponse checks a response's header: its size field is the number
// of bytes read, its response code is success (or the error it names is
// returned) and its tag is tag. It returns what follows the header.
func checkResponse(rsp []byte, tag uint16) ([]byte, error) {
	if len(rsp) < headerSize {
		return nil, fmt.Errorf("short response (%d bytes)", len(rsp))
	}
	if size := binary.BigEndian.Uint32(rsp[2:6]); size != uint32(len(rsp)) {
		return nil, fmt.Errorf("response size field %d, %d bytes read", size, len(rsp))
	}
	got := binary.BigEndian.Uint16(rsp[0:2])
	if rc := binary.BigEndian.Uint32(rsp[6:10]); rc != 0 {
		if got != stNoSessions && got != stSessions && got != stRspCommand {
			return nil, fmt.Errorf("response tag 0x%04x with response code 0x%x", got, rc)
		}
		return nil, responseCode(rc)
	}
	if got != tag {
		return nil, fmt.Errorf("response tag 0x%04x, want 0x%04x", got, tag)
	}
	return rsp[headerSize:], nil
}

// exchange sends cmd (the command name) and returns the response's
// parameter area (after the header), its header checked.
func exchange(rw io.ReadWriter, name string, cmd []byte, tag uint16) ([]byte, error) {
	rsp, err := transmit(rw, cmd)
	if err == nil {
		rsp, err = checkResponse(rsp, tag)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rsp, nil
}

// getBanks returns the TPM's active PCR banks.
func getBanks(rw io.ReadWriter) (Banks, error) {
	p, err := exchange(rw, nameGetCapability, getCapabilityPCRs(), stNoSessions)
	if err != nil {
		return nil, err
	}
	b, err := parseBanks(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameGetCapability, err)
	}
	return b, nil
}

// readPCR returns the value of pcr in bank a.
func readPCR(rw io.ReadWriter, pcr int, a Alg) ([]byte, error) {
	if err := checkPCR(pcr); err != nil {
		return nil, err
	}
	p, err := exchange(rw, namePCRRead, pcrRead(pcr, a), stNoSessions)
	if err != nil {
		return nil, err
	}
	v, err := parsePCRRead(p, pcr, a)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", namePCRRead, err)
	}
	return v, nil
}

// extendPCR extends pcr with d's digests, its banks in TPM_ALG_ID order.
func extendPCR(rw io.ReadWriter, pcr int, d Digests) error {
	banks := Banks(keys(d)).normal()
	if err := checkPCR(pcr); err != nil {
		return err
	}
	if err := checkDigests(banks, d); err != nil {
		return err
	}
	p, err := exchange(rw, namePCRExtend, pcrExtend(pcr, banks, d), stSessions)
	if err != nil {
		return err
	}
	if err := parseExtend(p); err != nil {
		return fmt.Errorf("%s: %w", namePCRExtend, err)
	}
	return nil
}

// responseCode is a TPM 2.0 response code other than TPM_RC_SUCCESS.
type responseCode uint32

// Error shows the code in hex and, for a format-1 code (bit 7 set), which
// parameter, handle or session it is about (Part 2, "TPM_RC").
func (rc responseCode) Error() string {
	s := fmt.Sprintf("TPM error 0x%03x", uint32(rc))
	if rc&0x80 == 0 {
		return s
	}
	n := (rc >> 8) & 0xF
	switch {
	case rc&0x40 != 0:
		return fmt.Sprintf("%s (parameter %d)", s, n)
	case n&0x8 != 0:
		return fmt.Sprintf("%s (session %d)", s, n&0x7)
	case n != 0:
		return fmt.Sprintf("%s (handle %d)", s, n)
	}
	return s
}

// reader reads a response's fields. A read past the end sets short and
// returns zeros, so a parser reads on and checks short once.
type reader struct {
	b     []byte
	short bool
}

func (r *reader) bytes(n int) []byte {
	if r.short || n < 0 || n > len(r.b) {
		r.short = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if v := r.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// end says whether the response was read exactly: not short, nothing
// left over.
func (r *reader) end() error {
	if r.short {
		return errors.New("truncated response")
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d unexpected bytes at the end of the response", len(r.b))
	}
	return nil
}

// selection is a TPMS_PCR_SELECTION.
type selection struct {
	alg  Alg
	bits []byte
}

// selections reads a TPML_PCR_SELECTION.
func (r *reader) selections() ([]selection, error) {
	count := r.u32()
	if count > uint32(len(r.b)/3) { // a TPMS_PCR_SELECTION has 3 bytes or more
		return nil, fmt.Errorf("PCR selection count %d too large for the response", count)
	}
	out := make([]selection, 0, count)
	for range count {
		a := Alg(r.u16())
		out = append(out, selection{alg: a, bits: r.bytes(int(r.u8()))})
	}
	if r.short {
		return nil, errors.New("truncated PCR selection")
	}
	return out, nil
}

// parseBanks reads TPM2_GetCapability(TPM_CAP_PCRS)'s parameters: a bank
// is active when its selection has any PCR.
func parseBanks(p []byte) (Banks, error) {
	r := reader{b: p}
	r.u8() // moreData: TPM_CAP_PCRS fits in one response
	if c := r.u32(); c != capPCRs && !r.short {
		return nil, fmt.Errorf("capability 0x%x in the response, want TPM_CAP_PCRS", c)
	}
	sels, err := r.selections()
	if err != nil {
		return nil, err
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	var b Banks
	for _, s := range sels {
		if slices.ContainsFunc(s.bits, func(c byte) bool { return c != 0 }) {
			b = append(b, s.alg)
		}
	}
	return b.normal(), nil
}

// parsePCRRead reads TPM2_PCR_Read's parameters, for a read of pcr in bank
// a: the selection read must be the one asked for (a bank that is not
// active reads as an empty one), with one value of the bank's size.
func parsePCRRead(p []byte, pcr int, a Alg) ([]byte, error) {
	r := reader{b: p}
	r.u32() // pcrUpdateCounter
	sels, err := r.selections()
	if err != nil {
		return nil, err
	}
	if !selects(sels, pcr, a) {
		return nil, fmt.Errorf("the TPM read %d PCR selections, not PCR %d of bank %s alone (is the bank active?)", len(sels), pcr, a)
	}
	if count := r.u32(); count != 1 && !r.short {
		return nil, fmt.Errorf("the TPM returned %d values", count)
	}
	size := int(r.u16())
	v := r.bytes(size)
	if err := r.end(); err != nil {
		return nil, err
	}
	if size != a.Size() {
		return nil, fmt.Errorf("the TPM returned a %d-byte value, want %d", size, a.Size())
	}
	return bytes.Clone(v), nil
}

// selects says whether sels is one selection of pcr in bank a.
func selects(sels []selection, pcr int, a Alg) bool {
	if len(sels) != 1 || sels[0].alg != a {
		return false
	}
	for i, c := range sels[0].bits {
		var want byte
		if i == pcr/8 {
			want = 1 << (pcr % 8)
		}
		if c != want {
			return false
		}
	}
	return len(sels[0].bits) > pcr/8
}

// parseExtend reads what follows TPM2_PCR_Extend's response header: the
// parameter size (PCR_Extend has no response parameters) and the one
// response session (TPMS_AUTH_RESPONSE: nonceTPM, sessionAttributes,
// hmac; empty for the password session).
func parseExtend(p []byte) error {
	r := reader{b: p}
	r.bytes(int(r.u32())) // parameterSize, parameters
	r.bytes(int(r.u16())) // nonceTPM
	r.u8()                // sessionAttributes
	r.bytes(int(r.u16())) // hmac
	return r.end()
}
