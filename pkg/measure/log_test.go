package measure_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/measure"
)

// The log round-trips: every record keeps its PCR, description and the
// digests of every bank, in order, and replays to the same PCR values.
func TestLogRoundTrip(t *testing.T) {
	banks := measure.Banks{measure.SHA1, measure.SHA256, measure.SHA384}
	events := []measure.Event{
		{PCR: 11, Type: measure.EvIPL, Description: ".linux", Digests: measure.Sum(banks, []byte(".linux\x00"))},
		{PCR: 12, Type: measure.EvEventTag, Tag: measure.TagUKIProfile, Description: "1", Digests: measure.Sum(banks, measure.UTF16Z("1"))},
		measure.Separator(banks, 7),
		{PCR: 13, Type: measure.EvIPL, Description: `quote " and \ and ünïcode`, Digests: measure.Sum(banks, []byte("x"))},
	}
	var buf bytes.Buffer
	if err := measure.WriteLog(&buf, events); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	if n := strings.Count(raw, "\x1e"); n != len(events) || !strings.HasPrefix(raw, "\x1e{") || !strings.HasSuffix(raw, "}\n") {
		t.Errorf("not JSON-SEQ (%d RS for %d records):\n%q", n, len(events), raw)
	}
	first := strings.SplitN(raw[1:], "\n", 2)[0]
	if want := `{"pcr":11,"digests":[{"hashAlg":"sha1","digest":"`; !strings.HasPrefix(first, want) || !strings.HasSuffix(first, `"content_type":"systemd","content":{"string":".linux"}}`) {
		t.Errorf("first record %s", first)
	}
	recs, err := measure.ReadLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(events) {
		t.Fatalf("%d records, want %d", len(recs), len(events))
	}
	var back []measure.Event
	for i, r := range recs {
		e := events[i]
		if r.PCR != e.PCR || r.Description != e.Description || r.ContentType != "systemd" || !r.Digests.Equal(e.Digests) {
			t.Errorf("record %d = %+v, want %+v", i, r, e)
		}
		back = append(back, r.Event())
	}
	want, got := measure.Replay(banks, events), measure.Replay(banks, back)
	for pcr, v := range want {
		if !got[pcr].Equal(v) {
			t.Errorf("PCR %d replays to %x, want %x", pcr, got[pcr], v)
		}
	}
}

// ReadLog reads what systemd itself writes (extra fields, banks it does
// not know) and refuses what pcrlock would refuse, and huge input.
func TestReadLogInputs(t *testing.T) {
	sha256 := strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"systemd's own phase record", "\x1e" + `{"pcr":11,"digests":[{"hashAlg":"sha256","digest":"` + sha256 + `"},{"hashAlg":"sm3_256","digest":"00"}],"content_type":"systemd","content":{"string":"enter-initrd","bootId":"0123","timestamp":5,"eventType":"phase"}}` + "\n", true},
		{"empty log", "", true},
		{"no RS first", `{"pcr":11,"digests":[]}` + "\n", false},
		{"PCR 24", "\x1e" + `{"pcr":24,"digests":[]}` + "\n", false},
		{"no pcr", "\x1e" + `{"digests":[]}` + "\n", false},
		{"no digests", "\x1e" + `{"pcr":1}` + "\n", false},
		{"short digest", "\x1e" + `{"pcr":1,"digests":[{"hashAlg":"sha256","digest":"abcd"}]}` + "\n", false},
		{"two values in a record", "\x1e" + `{"pcr":1,"digests":[]} {"pcr":2,"digests":[]}` + "\n", false},
		{"over the size bound", "\x1e" + strings.Repeat(" ", measure.MaxLogSize), false},
		{"over the record bound", strings.Repeat("\x1e"+`{"pcr":1,"digests":[]}`+"\n", measure.MaxLogRecords+1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := measure.ReadLog(strings.NewReader(c.in))
			if (err == nil) != c.ok {
				t.Errorf("ReadLog: %v, want ok=%v", err, c.ok)
			}
		})
	}
}
