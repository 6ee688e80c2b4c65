package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// The measured-boot test's own readers, on fixtures: a wrong reader would
// make the VM test pass or fail for the wrong reason.

func TestParseMeasureLog(t *testing.T) {
	d1 := strings.Repeat("ab", 32)
	good := "\x1e{\"pcr\":11,\"digests\":[{\"hashAlg\":\"sha256\",\"digest\":\"" + d1 + "\"},{\"hashAlg\":\"sha1\",\"digest\":\"" + strings.Repeat("01", 20) + "\"}],\"content_type\":\"systemd\",\"content\":{\"string\":\".linux\"}}\n" +
		"\x1e{\"pcr\":13,\"digests\":[],\"content_type\":\"systemd\",\"content\":{}}\n"
	ev, err := parseMeasureLog([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].PCR != 11 || ev[0].Description != ".linux" || hex.EncodeToString(ev[0].Digests["sha256"]) != d1 || len(ev[0].Digests["sha1"]) != 20 || ev[1].PCR != 13 {
		t.Errorf("events %+v", ev)
	}
	for _, c := range []struct{ name, log string }{
		{"no record separator", "{\"pcr\":11,\"digests\":[]}\n"},
		{"no newline after a record", "\x1e{\"pcr\":11,\"digests\":[]}"},
		{"no PCR", "\x1e{\"digests\":[]}\n"},
		{"PCR out of range", "\x1e{\"pcr\":24,\"digests\":[]}\n"},
		{"upper-case digest", "\x1e{\"pcr\":11,\"digests\":[{\"hashAlg\":\"sha256\",\"digest\":\"AB\"}]}\n"},
		{"not JSON", "\x1e{pcr}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if ev, err := parseMeasureLog([]byte(c.log)); err == nil {
				t.Errorf("parsed %+v, want an error", ev)
			}
		})
	}
}

func TestParseMeasurePlan(t *testing.T) {
	zero := strings.Repeat("00", 32)
	events := `[{"pcr":11,"type":"EV_IPL","description":".linux","digests":{"sha256":"` + zero + `"}},` +
		`{"pcr":12,"type":"EV_EVENT_TAG","tag":1,"description":"x","digests":{"sha256":"` + zero + `"}}]`
	predicted := `{"11":{"sha256":"` + strings.Repeat("11", 32) + `"}}`
	for _, c := range []struct{ name, out string }{
		{"measurements and predicted_pcrs", `{"entry":"a.efi","measurements":` + events + `,"predicted_pcrs":` + predicted + `}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseMeasurePlan([]byte(c.out))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Events) != 2 || p.Events[1].PCR != 12 || p.Events[0].Description != ".linux" || len(p.Events[0].Digests["sha256"]) != 32 {
				t.Errorf("events %+v", p.Events)
			}
			if hex.EncodeToString(p.Predicted["sha256"][11]) != strings.Repeat("11", 32) {
				t.Errorf("predicted %x", p.Predicted)
			}
		})
	}
	for _, bad := range []string{
		`{"measurements":[]}`,
		`{"predicted_pcrs":{}}`,
		`{"predicted_pcrs":{"x":{}},"measurements":[]}`,
		`{"predicted_pcrs":{},"measurements":[{"digests":{"sha1":"zz"}}]}`,
		`{"predicted_pcrs":[],"measurements":[]}`,
	} {
		if _, err := parseMeasurePlan([]byte(bad)); err == nil {
			t.Errorf("parseMeasurePlan(%s): no error", bad)
		}
	}
}

func TestReplayFrom(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	start := bytes.Repeat([]byte{7}, 32)
	events := []measureEvent{{PCR: 11, Digests: map[string][]byte{"sha256": d[:]}}, {PCR: 12, Digests: map[string][]byte{"sha256": d[:]}}, {PCR: 11, Digests: map[string][]byte{"sha256": d[:]}}}
	once := sha256.Sum256(append(append([]byte{}, start...), d[:]...))
	twice := sha256.Sum256(append(once[:], d[:]...))
	got, err := replayFrom(start, "sha256", 11, events)
	if err != nil || !bytes.Equal(got, twice[:]) {
		t.Errorf("replay of PCR 11 = %x, %v; want %x", got, err, twice)
	}
	if got, err := replayFrom(start, "sha256", 13, events); err != nil || !bytes.Equal(got, start) {
		t.Errorf("replay of a PCR without events = %x, %v; want the start value", got, err)
	}
	if _, err := replayFrom(start, "sha1", 11, events); err == nil {
		t.Errorf("replay with a missing bank: no error")
	}
	if _, err := replayFrom(start, "sm3_256", 11, events); err == nil {
		t.Errorf("replay of an unknown bank: no error")
	}
}
