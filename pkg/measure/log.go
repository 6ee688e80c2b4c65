package measure

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// The event log handed to the next OS, in the form systemd keeps
// /run/log/systemd/tpm2-measure.log: a JSON-SEQ stream (RFC 7464: RS
// 0x1E before each record, LF after) of TCG Canonical Event Log records
// in JSON (CEL-JSON), with the digests of every bank.

// Bounds of ReadLog.
const (
	MaxLogSize    = 16 << 20 // bytes of a whole log
	MaxLogRecords = 1 << 16
)

// LogRecord is one CEL-JSON record.
type LogRecord struct {
	RecNum      int
	PCR         int
	Digests     Digests
	ContentType string // "pcclient_std" for the events ukiboot writes
	EventType   EventType
	EventData   []byte
}

// Event is the record as an Event (its event data as Data), e.g. for
// Replay.
func (r LogRecord) Event() Event {
	return Event{PCR: r.PCR, Type: r.EventType, Data: r.EventData, Digests: r.Digests}
}

type celDigest struct {
	HashAlg string `json:"hashAlg"`
	Digest  string `json:"digest"`
}

type celContent struct {
	EventType uint32 `json:"event_type"`
	EventData string `json:"event_data"`
}

type celRecord struct {
	RecNum      int         `json:"recnum"`
	PCR         int         `json:"pcr"`
	Digests     []celDigest `json:"digests"`
	ContentType string      `json:"content_type"`
	Content     celContent  `json:"content"`
}

const recordSeparator = 0x1e

// WriteLog writes events as CEL-JSON records in a JSON-SEQ stream, record
// numbers from 0, digests in bank order.
func WriteLog(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	for i, e := range events {
		r := celRecord{RecNum: i, PCR: e.PCR, ContentType: "pcclient_std",
			Content: celContent{EventType: uint32(e.Type), EventData: hex.EncodeToString(e.EventData())}}
		algs := make([]Alg, 0, len(e.Digests))
		for a := range e.Digests {
			algs = append(algs, a)
		}
		sort.Slice(algs, func(i, j int) bool { return algs[i] < algs[j] })
		for _, a := range algs {
			r.Digests = append(r.Digests, celDigest{a.String(), hex.EncodeToString(e.Digests[a])})
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		bw.WriteByte(recordSeparator)
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// ReadLog parses a log WriteLog wrote (or systemd's pcclient_std records);
// it refuses a log over MaxLogSize bytes or MaxLogRecords records, and
// records of other content types.
func ReadLog(r io.Reader) ([]LogRecord, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxLogSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxLogSize {
		return nil, fmt.Errorf("measurement log larger than %d bytes", MaxLogSize)
	}
	if len(data) == 0 {
		return nil, nil
	}
	if data[0] != recordSeparator {
		return nil, errors.New("measurement log: not a JSON-SEQ stream (no RS before the first record)")
	}
	var out []LogRecord
	for i, rec := range bytes.Split(data[1:], []byte{recordSeparator}) {
		if i >= MaxLogRecords {
			return nil, fmt.Errorf("measurement log: more than %d records", MaxLogRecords)
		}
		lr, err := parseRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("measurement log record %d: %w", i, err)
		}
		out = append(out, lr)
	}
	return out, nil
}

func parseRecord(rec []byte) (LogRecord, error) {
	var c celRecord
	rec = bytes.TrimSpace(rec)
	d := json.NewDecoder(bytes.NewReader(rec))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return LogRecord{}, err
	}
	if d.InputOffset() != int64(len(rec)) {
		return LogRecord{}, errors.New("more than one JSON value")
	}
	if c.ContentType != "pcclient_std" {
		return LogRecord{}, fmt.Errorf("content_type %q, want pcclient_std", c.ContentType)
	}
	if c.PCR < 0 || c.PCR > 23 {
		return LogRecord{}, fmt.Errorf("PCR %d out of range", c.PCR)
	}
	data, err := hex.DecodeString(c.Content.EventData)
	if err != nil {
		return LogRecord{}, fmt.Errorf("event_data: %w", err)
	}
	lr := LogRecord{RecNum: c.RecNum, PCR: c.PCR, ContentType: c.ContentType, EventType: EventType(c.Content.EventType),
		EventData: data, Digests: Digests{}}
	for _, dg := range c.Digests {
		a, err := ParseAlg(dg.HashAlg)
		if err != nil {
			return LogRecord{}, err
		}
		v, err := hex.DecodeString(dg.Digest)
		if err != nil || len(v) != a.Size() {
			return LogRecord{}, fmt.Errorf("%s digest %q is not %d bytes of hex", a, dg.Digest, a.Size())
		}
		if _, dup := lr.Digests[a]; dup {
			return LogRecord{}, fmt.Errorf("two %s digests", a)
		}
		lr.Digests[a] = v
	}
	return lr, nil
}
