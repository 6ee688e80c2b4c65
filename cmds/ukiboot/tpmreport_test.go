package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// TestTPMReport: the predicted PCR values of -dry-run against an
// independent hash chain, for every bank; none when they cannot be
// claimed.
func TestTPMReport(t *testing.T) {
	ev := func(pcr int, data string) measure.Event {
		return measure.Event{PCR: pcr, Type: measure.EvIPL, Description: data, Digests: measure.Sum(measure.Banks{measure.SHA1, measure.SHA256}, []byte(data))}
	}
	events := []measure.Event{ev(7, "policy"), ev(11, ".linux"), ev(11, ".osrel"), ev(12, "cmdline")}
	chain := func(newH func() []byte, ext func(prev, d []byte) []byte, sum func([]byte) []byte, data ...string) string {
		v := newH()
		for _, d := range data {
			v = ext(v, sum([]byte(d)))
		}
		return hex.EncodeToString(v)
	}
	s1 := func(b []byte) []byte { d := sha1.Sum(b); return d[:] }
	s256 := func(b []byte) []byte { d := sha256.Sum256(b); return d[:] }
	ext1 := func(p, d []byte) []byte { return s1(append(append([]byte{}, p...), d...)) }
	ext256 := func(p, d []byte) []byte { return s256(append(append([]byte{}, p...), d...)) }
	z1 := func() []byte { return make([]byte, 20) }
	z256 := func() []byte { return make([]byte, 32) }
	want := map[string]map[string]string{
		"7":  {"sha1": chain(z1, ext1, s1, "policy"), "sha256": chain(z256, ext256, s256, "policy")},
		"11": {"sha1": chain(z1, ext1, s1, ".linux", ".osrel"), "sha256": chain(z256, ext256, s256, ".linux", ".osrel")},
		"12": {"sha1": chain(z1, ext1, s1, "cmdline"), "sha256": chain(z256, ext256, s256, "cmdline")},
		"13": {"sha1": hex.EncodeToString(z1()), "sha256": hex.EncodeToString(z256())},
	}
	stale := newRecTPM(measure.SHA1, measure.SHA256)
	stale.f.Extend(11, measure.Sum(measure.Banks{measure.SHA1, measure.SHA256}, []byte("earlier")))
	firmware := newRecTPM(measure.SHA1, measure.SHA256)
	firmware.f.Extend(7, measure.Sum(measure.Banks{measure.SHA1, measure.SHA256}, []byte{0xff, 0xff, 0xff, 0xff}))
	t.Run("predicted from reset, every bank", func(t *testing.T) {
		got, _ := json.Marshal(predictedJSON(&stub.Plan{Banks: measure.Banks{measure.SHA1, measure.SHA256}, Events: events}))
		exp, _ := json.Marshal(want)
		if !bytes.Equal(got, exp) {
			t.Errorf("predicted\n %s\nwant\n %s", got, exp)
		}
	})
	for _, c := range []struct {
		name        string
		o           options
		tpm         *recTPM
		predictable bool
		text        string
	}{
		{"TPM at reset", options{pcrBanks: "auto"}, newRecTPM(measure.SHA1, measure.SHA256), true, "tpm:      active banks sha1,sha256"},
		{"TPM not at reset", options{}, stale, false, "PCR 11 not at the reset value"},
		{"firmware measured PCR 7", options{}, firmware, true, "PCR 7: the firmware measured into it already"},
		{"-measure off", options{measure: "off", pcrBanks: "sha1,sha256"}, newRecTPM(measure.SHA1, measure.SHA256), false, "-measure off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &pipeline{o: &c.o}
			c.o.tpm = newTPMRun(&c.o, func() (measure.TPM, error) { return c.tpm, nil }, t.Logf)
			rep := p.tpmReport(events)
			if rep.Predictable != c.predictable {
				t.Errorf("predictable = %v, want %v", rep.Predictable, c.predictable)
			}
			var text bytes.Buffer
			rep.writeText(&text)
			if !strings.Contains(text.String(), c.text) {
				t.Errorf("text lacks %q:\n%s", c.text, text.String())
			}
			if !c.predictable && !strings.Contains(text.String(), "will not hold the predicted PCR values") {
				t.Errorf("text does not say the prediction will not hold:\n%s", text.String())
			}
		})
	}
	t.Run("no TPM", func(t *testing.T) {
		o := options{}
		p := &pipeline{o: &o}
		o.tpm = newTPMRun(&o, nil, t.Logf)
		rep := p.tpmReport(events)
		if rep.Predictable || !strings.HasPrefix(rep.TPM, "none") {
			t.Errorf("report %+v", rep)
		}
	})
}
