package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// e2eMeasureLog is what the e2e initrd's unit printed about contrib's
// ukiboot-measure-log.service (contrib/README.md), which appends ukiboot's
// /.extra/tpm2-measure.log to /run/log/systemd/tpm2-measure.log.
type e2eMeasureLog struct {
	extraSHA256 string // of /.extra/tpm2-measure.log (E2E-MLOG-EXTRA)
	mode        string // of /run/log/systemd/tpm2-measure.log (E2E-MLOG-MODE)
	run         []byte // /run/log/systemd/tpm2-measure.log (E2E-MLOG), nil when absent
	units       map[string]e2eUnit
}

// e2eUnit is one E2E-MLOG-UNIT line: a unit's result and when it started
// and became active, in µs since boot (0: never).
type e2eUnit struct {
	result             string
	started, activated uint64
}

// parseE2EMeasureLog reads the E2E-MLOG lines of the unit's report.
func parseE2EMeasureLog(report string) (e2eMeasureLog, error) {
	m := e2eMeasureLog{units: map[string]e2eUnit{}}
	var b64 strings.Builder
	for _, line := range strings.Split(report, "\n") {
		line = strings.TrimRight(line, "\r")
		i := strings.Index(line, "E2E-MLOG")
		if i < 0 {
			continue
		}
		tag, val, _ := strings.Cut(line[i:], ": ")
		switch tag {
		case "E2E-MLOG-EXTRA":
			m.extraSHA256 = val
		case "E2E-MLOG-MODE":
			m.mode = val
		case "E2E-MLOG":
			b64.WriteString(val)
		case "E2E-MLOG-UNIT":
			f := strings.Fields(val)
			if len(f) != 4 {
				return m, fmt.Errorf("%q: want a unit, its result and two timestamps", line)
			}
			started, err1 := strconv.ParseUint(f[2], 10, 64)
			activated, err2 := strconv.ParseUint(f[3], 10, 64)
			if err1 != nil || err2 != nil {
				return m, fmt.Errorf("%q: timestamps are not numbers", line)
			}
			m.units[f[0]] = e2eUnit{result: f[1], started: started, activated: activated}
		default:
			return m, fmt.Errorf("unknown line %q", line)
		}
	}
	if m.mode != "" {
		b, err := base64.StdEncoding.DecodeString(b64.String())
		if err != nil {
			return m, fmt.Errorf("E2E-MLOG: %v", err)
		}
		m.run = b
	}
	return m, nil
}

// checkE2EMeasureLog checks that contrib's unit appended ukiboot's log to
// systemd's, once, before systemd-cryptsetup started, and that replaying
// the log from the reset value gives the initrd's value of each of
// replay. Those can only be PCRs that nothing but ukiboot extended: not 7,
// where qemu's firmware (SeaBIOS) extends a separator before ukiboot runs
// (its own log, binary_bios_measurements, explains that one).
func checkE2EMeasureLog(t *testing.T, boot string, r e2eResult, replay ...int) {
	t.Helper()
	m := r.mlog
	if m.extraSHA256 == "" {
		t.Errorf("%s: no /.extra/tpm2-measure.log in the initrd: ukiboot handed over no event log", boot)
		return
	}
	if m.run == nil {
		t.Errorf("%s: no /run/log/systemd/tpm2-measure.log: contrib's ukiboot-measure-log.service did not append (units %v)", boot, m.units)
		return
	}
	if m.mode != "600" {
		t.Errorf("%s: /run/log/systemd/tpm2-measure.log has mode %s, want 600 (as systemd creates it)", boot, m.mode)
	}
	logged, err := parseMeasureLog(m.run)
	if err != nil {
		t.Errorf("%s: /run/log/systemd/tpm2-measure.log is not a JSON-SEQ log of CEL-JSON records: %v", boot, err)
		return
	}
	sum := sha256.Sum256(m.run)
	if got := hex.EncodeToString(sum[:]); got != m.extraSHA256 {
		t.Errorf("%s: /run/log/systemd/tpm2-measure.log (%d records, %d bytes, SHA-256 %s) is not /.extra/tpm2-measure.log (SHA-256 %s): appended twice, or not all of it",
			boot, len(logged), len(m.run), got, m.extraSHA256)
	} else {
		t.Logf("%s: /run/log/systemd/tpm2-measure.log: %d records, %d bytes, SHA-256 %x, the same as /.extra/tpm2-measure.log", boot, len(logged), len(m.run), sum)
	}
	for _, bank := range r.pcrs.Banks() {
		for _, pcr := range replay {
			got := r.pcrs[bank][pcr]
			want, err := replayFrom(make([]byte, len(got)), bank, pcr, logged)
			if err != nil {
				t.Errorf("%s: PCR %d %s: %v", boot, pcr, bank, err)
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s: PCR %d %s = %x in the initrd; replaying /run/log/systemd/tpm2-measure.log gives %x", boot, pcr, bank, got, want)
			}
		}
	}
	checkE2EUnitOrder(t, boot, m.units)
}

// checkE2EUnitOrder checks that ukiboot-measure-log.service succeeded and
// was done before any systemd-cryptsetup@.service started.
func checkE2EUnitOrder(t *testing.T, boot string, units map[string]e2eUnit) {
	t.Helper()
	ml, ok := units["ukiboot-measure-log.service"]
	if !ok || ml.result != "success" || ml.activated == 0 {
		t.Errorf("%s: ukiboot-measure-log.service did not run or failed: %+v", boot, ml)
		return
	}
	n := 0
	for name, u := range units {
		if !strings.HasPrefix(name, "systemd-cryptsetup@") {
			continue
		}
		n++
		if u.started == 0 || u.started < ml.activated {
			t.Errorf("%s: %s started at %d µs, before ukiboot-measure-log.service was done (%d µs)", boot, name, u.started, ml.activated)
		}
		t.Logf("%s: ukiboot-measure-log.service done at %d µs, %s started at %d µs", boot, ml.activated, name, u.started)
	}
	if n == 0 {
		t.Errorf("%s: no systemd-cryptsetup@.service in the initrd (units %v)", boot, units)
	}
}
