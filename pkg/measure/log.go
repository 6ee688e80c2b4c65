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
// /run/log/systemd/tpm2-measure.log (src/shared/tpm2-util.c
// tpm2_userspace_log): a JSON-SEQ stream (RFC 7464: RS 0x1E before each
// record, LF after) of CEL-JSON records
//
//	{"pcr":11,"digests":[{"hashAlg":"sha256","digest":"<hex>"},...],
//	 "content_type":"systemd","content":{"string":".linux"}}
//
// with the digests of every bank. systemd-pcrlock replays every record
// whatever its content (pcrlock.c event_log_record_parse_json); it checks
// digest == H(string) only for records with a known content.eventType,
// so ukiboot's records carry none. There is no recnum (the consumer adds
// it) and no bootId or timestamp: the boot they belong to has not
// started when ukiboot writes them.

// Bounds of ReadLog.
const (
	MaxLogSize    = 16 << 20 // bytes of a whole log
	MaxLogRecords = 1 << 16
)

// LogRecord is one CEL-JSON record.
type LogRecord struct {
	PCR         int
	Digests     Digests
	ContentType string
	// Description is content.string of a "systemd" record.
	Description string
}

// Event is the record as an Event, e.g. for Replay.
func (r LogRecord) Event() Event {
	return Event{PCR: r.PCR, Description: r.Description, Digests: r.Digests}
}

type celDigest struct {
	HashAlg string `json:"hashAlg"`
	Digest  string `json:"digest"`
}

type celContent struct {
	String *string `json:"string,omitempty"`
}

type celRecord struct {
	PCR         *int            `json:"pcr"`
	Digests     []celDigest     `json:"digests"`
	ContentType string          `json:"content_type,omitempty"`
	Content     json.RawMessage `json:"content,omitempty"`
}

const recordSeparator = 0x1e

// WriteLog writes events as CEL-JSON records in a JSON-SEQ stream,
// digests in bank order.
func WriteLog(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	for _, e := range events {
		pcr := e.PCR
		desc := e.Description
		content, err := json.Marshal(celContent{String: &desc})
		if err != nil {
			return err
		}
		r := celRecord{PCR: &pcr, ContentType: "systemd", Content: content}
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

// ReadLog parses a log as systemd-pcrlock does (event_log_load_userspace):
// records split at RS, each with "pcr" (below 24) and "digests"; digests
// of banks ukiboot does not know are skipped; content.string of "systemd"
// records is the description. It refuses a log over MaxLogSize bytes or
// MaxLogRecords records.
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
	if err := d.Decode(&c); err != nil {
		return LogRecord{}, err
	}
	if d.InputOffset() != int64(len(rec)) {
		return LogRecord{}, errors.New("more than one JSON value")
	}
	if c.PCR == nil || *c.PCR < 0 || *c.PCR >= 24 {
		return LogRecord{}, errors.New(`no "pcr" from 0 to 23`)
	}
	if c.Digests == nil {
		return LogRecord{}, errors.New(`no "digests"`)
	}
	lr := LogRecord{PCR: *c.PCR, ContentType: c.ContentType, Digests: Digests{}}
	if c.ContentType == "systemd" {
		var content celContent
		if err := json.Unmarshal(c.Content, &content); err != nil {
			return LogRecord{}, fmt.Errorf("content: %w", err)
		}
		if content.String != nil {
			lr.Description = *content.String
		}
	}
	for _, dg := range c.Digests {
		a, err := ParseAlg(dg.HashAlg)
		if err != nil {
			continue // as pcrlock: a bank it does not know
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
