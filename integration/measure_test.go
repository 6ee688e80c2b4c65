package integration

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// measuredPCRs are the PCRs ukiboot extends.
func measuredPCRs() []int { return []int{7, 11, 12, 13} }

// Issue 13's VM test. A TPM with the SHA-1, SHA-256 and SHA-384 banks; a
// signed UKI with a credential and a system extension beside it; a trust
// store in the first stage, so verification is enforced. ukiboot -auto
// extends the TPM and kexecs the UKI. In the second kernel, PCRs 7, 11,
// 12 and 13 of every bank equal what ukiboot -dry-run -json predicts on
// the host for the same files, and what replaying the log handed over in
// /.extra/tpm2-measure.log gives.
//
// Both are replayed from the values the PCRs had before ukiboot started
// (testinit.pcrs=1): under qemu, SeaBIOS has extended a separator into
// PCRs 0-7, so PCR 7 is not at its reset value. Where a PCR was at reset,
// the "predicted" values of -dry-run -json must equal the second kernel's
// too.
func TestMeasuredBoot(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	ca := ukitest.NewCA(t, "Measured db CA", false)
	signer := ukitest.NewLeaf(t, "Measured UKI Signer", false, ca)
	uki := ukitest.SignedUKI(t, authenticode.ImageDigest, signer,
		ukitest.S(".osrel", "ID=measured\nVERSION_ID=1\n"),
		ukitest.S(".cmdline", stage2Cmdline+" scenario=measured"),
		ukitest.B(".linux", s.kernel),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-measured", Data: []byte("measured\n")})),
	)
	esp := tree(t, map[string][]byte{
		"EFI/Linux/measured.efi":                   uki,
		"EFI/Linux/measured.efi.extra.d/site.cred": []byte("a credential for the measured boot"),
		"EFI/Linux/measured.efi.extra.d/tools.raw": []byte("a system extension, bytes only"),
	})
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	plan := predictMeasurements(t, esp, WriteFile(t, "ca.pem", caPEM), tpmBanks())

	d := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: esp}})
	vm := Boot(t, VMOptions{
		Kernel:    a.Kernel, // the bzImage: see TPM.QEMU
		Initramfs: a.Stage1With(t, File{Name: "etc/ukiboot/db/ca.pem", Data: caPEM}),
		Append:    Stage1Cmdline("testinit.waitdisk=1 testinit.pcrs=1", "-auto", "-v"),
		Disks:     []string{d.Path},
		QEMU:      []qemu.Fn{NewTPM(t, tpmBanks()...).QEMU(t)},
	})
	vm.Expect(`verification: enforce \(a trust store is configured\)`, BootTimeout)
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if r.Markers["marker-measured"] != "measured" {
		t.Fatalf("booted %q (markers %v), want the measured UKI", r.Cmdline, r.Markers)
	}
	t.Logf("second kernel's command line: %s", r.Cmdline)
	before, err := PCRLines(vm.Output(), "testinit: pcr ")
	if err != nil {
		t.Fatal(err)
	}
	if !checkBanks(t, "first stage", before.Banks(), tpmBanks()) || !checkBanks(t, "second kernel", r.Banks, tpmBanks()) {
		t.FailNow()
	}
	if r.TPMLog == nil {
		t.Fatalf("the second kernel has no /.extra/tpm2-measure.log")
	}
	if e, sum := r.Extras()["/.extra/tpm2-measure.log"], sha256.Sum256(r.TPMLog); e.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("/.extra/tpm2-measure.log: the report printed a log with SHA-256 %x, its listing says %s", sum, e.SHA256)
	}
	logged, err := parseMeasureLog(r.TPMLog)
	if err != nil {
		t.Fatalf("/.extra/tpm2-measure.log: %v", err)
	}
	compareEvents(t, plan.Events, logged)
	checkPCRs(t, before, r.PCRs, plan, logged)
}

// checkPCRs compares the second kernel's PCRs with the plan's events and
// the log's, replayed from the PCRs' values before ukiboot, and with the
// plan's predicted values where the PCR was at reset.
func checkPCRs(t *testing.T, before, after PCRValues, plan *measurePlan, logged []measureEvent) {
	t.Helper()
	for _, pcr := range measuredPCRs() {
		for _, bank := range tpmBanks() {
			start, got := before[bank][pcr], after[bank][pcr]
			if start == nil || got == nil {
				t.Errorf("PCR %d %s: no value before ukiboot (%x) or in the second kernel (%x)", pcr, bank, start, got)
				continue
			}
			for _, c := range []struct {
				what   string
				events []measureEvent
			}{{"ukiboot -dry-run -json's events", plan.Events}, {"/.extra/tpm2-measure.log", logged}} {
				want, err := replayFrom(start, bank, pcr, c.events)
				if err != nil {
					t.Errorf("PCR %d %s: %s: %v", pcr, bank, c.what, err)
				} else if !bytes.Equal(got, want) {
					t.Errorf("PCR %d %s = %x in the second kernel; replaying %s from %x gives %x", pcr, bank, got, c.what, start, want)
				}
			}
			if !isReset(start) {
				t.Logf("PCR %d %s was %x before ukiboot, not at reset: its \"predicted\" value is not compared", pcr, bank, start)
				continue
			}
			if p := plan.Predicted[bank][pcr]; !bytes.Equal(p, got) {
				t.Errorf("PCR %d %s = %x in the second kernel; ukiboot -dry-run -json predicted %x", pcr, bank, got, p)
			}
		}
	}
}

// compareEvents checks that the plan printed on the host and the log the
// second kernel was handed list the same events of the measured PCRs.
func compareEvents(t *testing.T, plan, logged []measureEvent) {
	t.Helper()
	for _, pcr := range measuredPCRs() {
		p, l := eventsOf(plan, pcr), eventsOf(logged, pcr)
		if len(p) == 0 {
			t.Errorf("PCR %d: ukiboot -dry-run -json lists no event", pcr)
		}
		if len(p) != len(l) {
			t.Errorf("PCR %d: ukiboot -dry-run -json lists %d events (%s), the log %d (%s)", pcr, len(p), descriptions(p), len(l), descriptions(l))
			continue
		}
		for i := range p {
			for _, bank := range tpmBanks() {
				if !bytes.Equal(p[i].Digests[bank], l[i].Digests[bank]) {
					t.Errorf("PCR %d event %d (%q; log: %q) %s: -dry-run %x, log %x", pcr, i, p[i].Description, l[i].Description, bank, p[i].Digests[bank], l[i].Digests[bank])
				}
			}
		}
	}
	for _, want := range []struct {
		pcr  int
		desc string
	}{{12, "Credentials initrd"}, {13, "System extension initrd"}} {
		found := false
		for _, e := range eventsOf(plan, want.pcr) {
			found = found || e.Description == want.desc
		}
		if !found {
			t.Errorf("PCR %d: no %q event in %s", want.pcr, want.desc, descriptions(eventsOf(plan, want.pcr)))
		}
	}
}

func eventsOf(events []measureEvent, pcr int) []measureEvent {
	var out []measureEvent
	for _, e := range events {
		if e.PCR == pcr {
			out = append(out, e)
		}
	}
	return out
}

func descriptions(events []measureEvent) string {
	d := make([]string, len(events))
	for i, e := range events {
		d[i] = fmt.Sprintf("%q", e.Description)
	}
	return "[" + strings.Join(d, " ") + "]"
}

// measureEvent is an event of a plan or a log, with digests by bank name.
type measureEvent struct {
	PCR         int
	Description string
	Digests     map[string][]byte
}

// measurePlan is what ukiboot -dry-run -json says about measurements.
type measurePlan struct {
	Events    []measureEvent
	Predicted PCRValues
}

// vmPolicyRecord is ukiboot's PCR 7 policy record (README "Measured
// boot") in the first stage: verification enforced by the trust store,
// and Debian's kernel, booted without Secure Boot, not locked down (u-root's
// init mounts securityfs, so ukiboot reads "none").
const vmPolicyRecord = "ukiboot-policy-format=1\nverify=enforce\nlockdown=none\n"

// predictMeasurements runs ukiboot -dry-run -auto -json on the host, from
// the same code and files as the VM's, and reads its events and predicted
// PCR values. There is no EFI variable store in the VM (it boots
// SeaBIOS): UKIBOOT_EFIVARS names an empty directory. The host's lockdown
// state is not the VM's, so the policy record's event is replaced by one
// computed here from the VM's record (vmPolicyRecord); PCR 7's predicted
// value is not compared (SeaBIOS measured PCR 7 before ukiboot).
func predictMeasurements(t *testing.T, esp, db string, banks []string) *measurePlan {
	t.Helper()
	p := dryRunJSON(t, esp, banks, "-db", db)
	if len(p.Events) == 0 || p.Events[0].PCR != 7 || p.Events[0].Description != "ukiboot policy" {
		t.Fatalf("ukiboot -dry-run -json: the first event is not the policy record into PCR 7: %+v", p.Events)
	}
	for _, bank := range banks {
		h := newBankHash(bank)
		h.Write([]byte(vmPolicyRecord))
		p.Events[0].Digests[bank] = h.Sum(nil)
	}
	return p
}

// dryRunJSON runs ukiboot -dry-run -auto -json on the host, on the ESP
// tree, with the PCR banks given and args, and reads what it says about
// measurements. UKIBOOT_EFIVARS names an empty directory: no EFI variable
// of this machine.
func dryRunJSON(t *testing.T, esp string, banks []string, args ...string) *measurePlan {
	t.Helper()
	args = append([]string{"run", "./cmds/ukiboot", "-dry-run", "-auto", "-json", "-pcr-banks", strings.Join(banks, ","), "-root", esp}, args...)
	c := exec.Command(ukitest.Need(t, "go"), args...)
	c.Dir = RepoRoot(t)
	c.Env = append(os.Environ(), "UKIBOOT_EFIVARS="+t.TempDir())
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	p, err := parseMeasurePlan(out)
	if err != nil {
		t.Fatalf("ukiboot -dry-run -json: %v\n%s", err, out)
	}
	return p
}

// parseMeasurePlan reads the events ("measurements": [{"pcr": N,
// "description": "...", "digests": {"<bank>": "<hex>"}}]) and the
// predicted values ("predicted_pcrs": {"<pcr>": {"<bank>": "<hex>"}}) out
// of ukiboot -dry-run -json's output.
func parseMeasurePlan(b []byte) (*measurePlan, error) {
	var j struct {
		Predicted map[string]map[string]string `json:"predicted_pcrs"`
		Events    []struct {
			PCR         int               `json:"pcr"`
			Description string            `json:"description"`
			Digests     map[string]string `json:"digests"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if j.Predicted == nil || j.Events == nil {
		return nil, fmt.Errorf("no \"predicted_pcrs\" or no \"measurements\"")
	}
	p := &measurePlan{Predicted: PCRValues{}}
	for pcr, banks := range j.Predicted {
		n, err := strconv.Atoi(pcr)
		if err != nil {
			return nil, fmt.Errorf("predicted_pcrs: PCR %q: %v", pcr, err)
		}
		d, err := decodeDigests(banks)
		if err != nil {
			return nil, fmt.Errorf("predicted_pcrs: PCR %d: %v", n, err)
		}
		for bank, v := range d {
			if p.Predicted[bank] == nil {
				p.Predicted[bank] = map[int][]byte{}
			}
			p.Predicted[bank][n] = v
		}
	}
	for i, e := range j.Events {
		d, err := decodeDigests(e.Digests)
		if err != nil {
			return nil, fmt.Errorf("measurements: event %d (%q): %v", i, e.Description, err)
		}
		p.Events = append(p.Events, measureEvent{PCR: e.PCR, Description: e.Description, Digests: d})
	}
	return p, nil
}

func decodeDigests(m map[string]string) (map[string][]byte, error) {
	d := map[string][]byte{}
	for bank, s := range m {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", bank, err)
		}
		d[bank] = b
	}
	return d, nil
}

// parseMeasureLog reads a log in the form of systemd's
// /run/log/systemd/tpm2-measure.log: CEL-JSON records in a JSON-SEQ
// stream (RFC 7464: each record is 0x1E, JSON, newline), each with "pcr"
// and "digests" ([{"hashAlg": "sha256", "digest": "<hex>"}]), and the
// description in "content": {"string": "..."}. It is written here, apart
// from ukiboot's writer, so that the test checks the format too.
func parseMeasureLog(b []byte) ([]measureEvent, error) {
	if len(b) > 0 && b[0] != 0x1e {
		return nil, fmt.Errorf("does not start with a record separator (0x1E): %q", b[:min(len(b), 16)])
	}
	var events []measureEvent
	for i, rec := range bytes.Split(b, []byte{0x1e})[1:] {
		if !bytes.HasSuffix(rec, []byte("\n")) {
			return nil, fmt.Errorf("record %d does not end with a newline", i)
		}
		var j struct {
			PCR     *int `json:"pcr"`
			Digests []struct {
				HashAlg string `json:"hashAlg"`
				Digest  string `json:"digest"`
			} `json:"digests"`
			Content struct {
				String string `json:"string"`
			} `json:"content"`
		}
		if err := json.Unmarshal(rec, &j); err != nil {
			return nil, fmt.Errorf("record %d: %v: %q", i, err, rec)
		}
		if j.PCR == nil || *j.PCR < 0 || *j.PCR > 23 {
			return nil, fmt.Errorf("record %d has no PCR 0-23: %q", i, rec)
		}
		e := measureEvent{PCR: *j.PCR, Description: j.Content.String, Digests: map[string][]byte{}}
		for _, d := range j.Digests {
			v, err := hex.DecodeString(d.Digest)
			if err != nil || d.Digest != strings.ToLower(d.Digest) {
				return nil, fmt.Errorf("record %d: %s digest %q is not lower-case hex", i, d.HashAlg, d.Digest)
			}
			e.Digests[d.HashAlg] = v
		}
		events = append(events, e)
	}
	return events, nil
}

// replayFrom extends the digests in bank of the events of pcr into start,
// in order.
func replayFrom(start []byte, bank string, pcr int, events []measureEvent) ([]byte, error) {
	v := start
	for _, e := range eventsOf(events, pcr) {
		h := newBankHash(bank)
		if h == nil {
			return nil, fmt.Errorf("unknown bank %s", bank)
		}
		d := e.Digests[bank]
		if len(d) != h.Size() {
			return nil, fmt.Errorf("event %q has a %d-byte %s digest", e.Description, len(d), bank)
		}
		h.Write(v)
		h.Write(d)
		v = h.Sum(nil)
	}
	return v, nil
}

func newBankHash(bank string) hash.Hash {
	switch bank {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	}
	return nil
}

// isReset says whether a PCR value is all zero, as at reset, or missing.
func isReset(v []byte) bool { return bytes.Count(v, []byte{0}) == len(v) }
