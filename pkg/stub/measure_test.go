package stub_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// The tests here compute every event and PCR value on their own: the
// measured bytes from the fixture's inputs, the event data by hand, the
// digests with crypto/* and the extends by hand.

var threeBanks = measure.Banks{measure.SHA1, measure.SHA256, measure.SHA384}

// Tag ids as src/fundamental/tpm2-pcr.h has them.
const (
	tagDevicetreeAddon = 0x6c46f751
	tagInitrdAddon     = 0x49dffe0f
	tagUcodeAddon      = 0xdac08e1a
	tagUKIProfile      = 0x13aed6db
	evIPL              = 0x0d
	evEventTag         = 0x06
)

// measuredESP is a partition with a two-profile UKI (stub version magic,
// "" for none), two addons with .cmdline, .dtb, .ucode and .initrd, and
// credentials, system and configuration extensions next to the UKI and
// global ones. It returns the UKI's sections by name for profile 0.
func measuredESP(t *testing.T, magic string) (string, map[string][]byte) {
	esp := t.TempDir()
	secs := map[string][]byte{
		".osrel": []byte("ID=m\n"), ".cmdline": []byte("root=/dev/vda"), ".uname": []byte("6.9.0"),
		".linux": bytes.Repeat([]byte("K"), 3000), ".initrd": []byte("UKI-INITRD"), ".ucode": []byte("UKI-UCODE"),
		".splash": []byte("BMP"), ".dtb": ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("uki,board")}),
		".sbat": []byte("sbat,1\n"), ".pcrsig": []byte(`{"sha256":[]}`), ".pcrpkey": []byte("KEY"), ".profile": []byte("ID=default\n"),
	}
	var list []ukitest.Section
	if magic != "" {
		list = append(list, ukitest.S(".sdmagic", "#### LoaderInfo: "+magic+" ####\x00"))
	}
	for _, n := range []string{".osrel", ".cmdline", ".uname", ".linux", ".initrd", ".ucode", ".splash", ".dtb", ".sbat", ".pcrsig", ".pcrpkey"} {
		list = append(list, ukitest.B(n, secs[n]))
	}
	list = append(list, ukitest.B(".profile", secs[".profile"]), ukitest.S(".profile", "ID=rescue\n"), ukitest.S(".cmdline", "rescue=1"))
	write(t, esp, "EFI/Linux/m.efi", ukitest.UKI(list...))
	d := "EFI/Linux/m.efi.extra.d/"
	write(t, esp, "loader/addons/g.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "global=1"), ukitest.B(".dtb", gDTB),
		ukitest.S(".ucode", "G-UCODE"), ukitest.S(".initrd", "G-INITRD")))
	write(t, esp, d+"z.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "local=1"), ukitest.B(".dtb", zDTB),
		ukitest.S(".ucode", "Z-UCODE"), ukitest.S(".initrd", "Z-INITRD")))
	write(t, esp, d+"a.cred", []byte("cred"))
	write(t, esp, d+"t.raw", []byte("sysext"))
	write(t, esp, d+"e.confext.raw", []byte("confext"))
	write(t, esp, "loader/credentials/s.cred", []byte("global-cred"))
	write(t, esp, "loader/extensions/b.raw", []byte("global-sysext"))
	write(t, esp, "loader/extensions/g.confext.raw", []byte("global-confext"))
	return esp, secs
}

var (
	gDTB = ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("global,overlay")})
	zDTB = ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("local,overlay")})
)

// wantEvent is an event as the test expects it: the bytes measured.
type wantEvent struct {
	pcr  int
	typ  uint32
	tag  uint32
	desc string
	data []byte
}

func ipl(pcr int, desc string, data []byte) wantEvent { return wantEvent{pcr, evIPL, 0, desc, data} }
func tagged(tag uint32, desc string, data []byte) wantEvent {
	return wantEvent{12, evEventTag, tag, desc, data}
}

// eventData is what the TCG log carries: UTF-16LE description with NUL,
// behind the tag id and its size for a tagged event.
func (w wantEvent) eventData() []byte {
	s := utf16z(w.desc)
	if w.typ != evEventTag {
		return s
	}
	b := binary.LittleEndian.AppendUint32(nil, w.tag)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func digestOf(a measure.Alg, data []byte) []byte {
	switch a {
	case measure.SHA1:
		s := sha1.Sum(data)
		return s[:]
	case measure.SHA256:
		s := sha256.Sum256(data)
		return s[:]
	case measure.SHA384:
		s := sha512.Sum384(data)
		return s[:]
	}
	panic("bank")
}

// replayByHand extends from zero: PCR = H(PCR || H(data)).
func replayByHand(events []wantEvent) map[int]map[measure.Alg][]byte {
	out := map[int]map[measure.Alg][]byte{}
	for _, e := range events {
		if out[e.pcr] == nil {
			out[e.pcr] = map[measure.Alg][]byte{}
			for _, a := range threeBanks {
				out[e.pcr][a] = make([]byte, len(digestOf(a, nil)))
			}
		}
		for _, a := range threeBanks {
			out[e.pcr][a] = digestOf(a, append(append([]byte{}, out[e.pcr][a]...), digestOf(a, e.data)...))
		}
	}
	return out
}

// pieceBytes returns the initrd bytes of the piece whose description
// starts with prefix.
func pieceBytes(t *testing.T, p *stub.Plan, initrd []byte, prefix string) []byte {
	t.Helper()
	for _, pc := range p.Pieces {
		if strings.HasPrefix(pc.Description, prefix) {
			return initrd[pc.Offset : pc.Offset+pc.Size]
		}
	}
	t.Fatalf("no initrd piece %q", prefix)
	return nil
}

// checkEvents compares the plan's events and predicted PCRs with want.
func checkEvents(t *testing.T, p *stub.Plan, want []wantEvent) {
	t.Helper()
	if len(p.Events) != len(want) {
		for _, e := range p.Events {
			t.Logf("PCR %d %s %q", e.PCR, e.Type, e.Description)
		}
		t.Fatalf("%d events, want %d", len(p.Events), len(want))
	}
	for i, w := range want {
		g := p.Events[i]
		if g.PCR != w.pcr || uint32(g.Type) != w.typ || g.Tag != w.tag || g.Description != w.desc || !bytes.Equal(g.EventData(), w.eventData()) {
			t.Errorf("event %d: PCR %d %s tag %#x %q, want PCR %d type %#x tag %#x %q", i, g.PCR, g.Type, g.Tag, g.Description, w.pcr, w.typ, w.tag, w.desc)
		}
		if g.Size != int64(len(w.data)) {
			t.Errorf("event %d (%s): size %d, want %d", i, w.desc, g.Size, len(w.data))
		}
		for _, a := range threeBanks {
			if !bytes.Equal(g.Digests[a], digestOf(a, w.data)) {
				t.Errorf("event %d (%s): %s digest %x, want %x", i, w.desc, a, g.Digests[a], digestOf(a, w.data))
			}
		}
	}
	got := measure.Replay(p.Banks, p.Events)
	for pcr, banks := range replayByHand(want) {
		for a, v := range banks {
			if !bytes.Equal(got[pcr][a], v) {
				t.Errorf("PCR %d %s predicted %x, want %x", pcr, a, got[pcr][a], v)
			}
		}
	}
}

// For each stub release row, the plan's events (PCR, type, tag,
// description, event data, digests in SHA-1, SHA-256 and SHA-384) and
// predicted PCRs are those of systemd-boot and that release's
// systemd-stub, in v259's PCR 12 order.
func TestEventsPerStubRelease(t *testing.T) {
	base := []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"}
	with254 := []string{".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey"}
	newest := []string{".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat", ".pcrpkey", ".profile"}
	for _, c := range []struct {
		name, magic, entry string
		sections           []string
		rule               string
	}{
		{"252 stub", "systemd-stub 252.39-1~deb12u2", "m.efi", base, "systemd-stub 252 rules (.sdmagic says systemd-stub 252.39-1~deb12u2)"},
		{"253 stub uses the 252 row", "systemd-stub 253.5", "m.efi", base, "systemd-stub 252 rules"},
		{"254 stub", "systemd-stub 254.1", "m.efi", with254, "systemd-stub 254 rules"},
		{"257 stub", "systemd-stub 257.9", "m.efi", newest, "systemd-stub 257 rules"},
		{"257 stub, profile 1", "systemd-stub 257.9", "m.efi@rescue", newest, "systemd-stub 257 rules"},
		{"no .sdmagic: newest row", "", "m.efi", newest, "systemd-stub 258 rules (no .sdmagic"},
		{"no .sdmagic, profile 1", "", "m.efi@rescue", newest, "systemd-stub 258 rules (no .sdmagic"},
		{"newer stub: newest row", "systemd-stub 263", "m.efi", newest, "systemd-stub 258 rules (.sdmagic says systemd-stub 263: newer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			esp, secs := measuredESP(t, c.magic)
			p := build(t, target(t, esp, c.entry), stub.Policy{Append: "extra=1", Measure: stub.MeasurePolicy{Banks: threeBanks}})
			if !strings.HasPrefix(p.PCR11Rule, c.rule) || !strings.Contains(p.PCR11Rule, ": "+strings.Join(c.sections, " ")) {
				t.Errorf("PCR 11 rule %q, want %q...: %s", p.PCR11Rule, c.rule, strings.Join(c.sections, " "))
			}
			initrd := readAll(t, p.Initrd)
			var want []wantEvent
			if strings.HasSuffix(c.entry, "@rescue") {
				secs[".cmdline"], secs[".profile"] = []byte("rescue=1"), []byte("ID=rescue\n")
				want = append(want, ipl(12, "@1", utf16z("@1")), tagged(tagUKIProfile, "1", utf16z("1")))
			}
			for _, n := range c.sections {
				want = append(want, ipl(11, n, []byte(n+"\x00")), ipl(11, n, secs[n]))
			}
			want = append(want,
				ipl(12, "global=1 local=1", utf16z("global=1 local=1")),
				ipl(12, "extra=1", utf16z("extra=1")),
				tagged(tagDevicetreeAddon, "g.addon.efi", gDTB),
				tagged(tagDevicetreeAddon, "z.addon.efi", zDTB),
				ipl(12, "Credentials initrd", pieceBytes(t, p, initrd, "Credentials initrd")),
				ipl(12, "Global credentials initrd", pieceBytes(t, p, initrd, "Global credentials initrd")),
				ipl(13, "System extension initrd", pieceBytes(t, p, initrd, "System extension initrd")),
				ipl(13, "Global system extension initrd", pieceBytes(t, p, initrd, "Global system extension initrd")),
				ipl(12, "Configuration extension initrd", pieceBytes(t, p, initrd, "Configuration extension initrd")),
				ipl(12, "Global configuration extension initrd", pieceBytes(t, p, initrd, "Global configuration extension initrd")),
				tagged(tagUcodeAddon, "z.addon.efi", []byte("Z-UCODE")),
				tagged(tagUcodeAddon, "g.addon.efi", []byte("G-UCODE")),
				tagged(tagInitrdAddon, "g.addon.efi", []byte("G-INITRD")),
				tagged(tagInitrdAddon, "z.addon.efi", []byte("Z-INITRD")),
			)
			checkEvents(t, p, want)
		})
	}
}

// systemd-stub measures the .ucode addons after the credential and
// extension archives (run(): generate_sidecar_initrds, then
// measure_and_append_ucode_addons), but their bytes start the initrd,
// last addon first, because the kernel takes the first microcode.
func TestUcodeAddonsMeasuredAfterArchivesButFirstInInitrd(t *testing.T) {
	esp, _ := measuredESP(t, "")
	p := build(t, target(t, esp, "m.efi"), stub.Policy{})
	lastArchive, firstUcode := -1, -1
	for i, e := range p.Events {
		if strings.HasSuffix(e.Description, " initrd") {
			lastArchive = i
		}
		if e.Tag == tagUcodeAddon && firstUcode < 0 {
			firstUcode = i
		}
	}
	if lastArchive < 0 || firstUcode < 0 || firstUcode < lastArchive {
		t.Errorf("first .ucode addon event at %d, last archive event at %d: want the archives first", firstUcode, lastArchive)
	}
	if initrd := string(readAll(t, p.Initrd)); !strings.HasPrefix(initrd, "Z-UCODE\x00G-UCODE") {
		t.Errorf("initrd starts %q, want the addons' microcode, last addon first", initrd[:min(len(initrd), 20)])
	}
}

// An addon's devicetree is measured into PCR 12 as a tagged event named
// by the addon's file, although kexec cannot install it; a matching
// .dtbauto is preferred to .dtb, as in systemd-stub's load_addons.
func TestAddonDevicetreeMeasuredTagged(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/d.efi", ukitest.UKI(ukitest.S(".osrel", "ID=d\n"), ukitest.S(".linux", "K")))
	auto := ukitest.FDT(ukitest.FDTProp{Name: "compatible", Value: ukitest.StringList("vendor,board")})
	write(t, esp, "EFI/Linux/d.efi.extra.d/only.addon.efi", ukitest.UKI(ukitest.B(".dtb", gDTB)))
	write(t, esp, "EFI/Linux/d.efi.extra.d/x.addon.efi", ukitest.UKI(ukitest.B(".dtb", zDTB), ukitest.B(".dtbauto", auto)))
	p := build(t, target(t, esp, "d.efi"), stub.Policy{Hardware: stub.Hardware{Read: true, DeviceTree: true, Compatible: "vendor,board"},
		Measure: stub.MeasurePolicy{Banks: threeBanks}})
	var got []wantEvent
	for _, e := range p.Events {
		if e.PCR == 12 {
			got = append(got, wantEvent{e.PCR, uint32(e.Type), e.Tag, e.Description, nil})
		}
	}
	want := []wantEvent{tagged(tagDevicetreeAddon, "only.addon.efi", gDTB), tagged(tagDevicetreeAddon, "x.addon.efi", auto)}
	if len(got) != len(want) {
		t.Fatalf("PCR 12 events %+v, want %+v", got, want)
	}
	var pcr12 []measure.Event
	for _, e := range p.Events {
		if e.PCR == 12 {
			pcr12 = append(pcr12, e)
		}
	}
	for i, w := range want {
		g := pcr12[i]
		if g.Type != measure.EvEventTag || g.Tag != w.tag || g.Description != w.desc || !bytes.Equal(g.EventData(), w.eventData()) {
			t.Errorf("event %d: %s %#x %q, want EV_EVENT_TAG %#x %q", i, g.Type, g.Tag, g.Description, w.tag, w.desc)
		}
		for _, a := range threeBanks {
			if !bytes.Equal(g.Digests[a], digestOf(a, w.data)) {
				t.Errorf("event %d: %s digest is not of the addon's devicetree", i, a)
			}
		}
	}
	if notes := strings.Join(p.Notes, "\n"); !strings.Contains(notes, "x.addon.efi: .dtbauto measured into PCR 12") {
		t.Errorf("notes:\n%s", notes)
	}
}

// With MeasurePolicy.Log the initrd carries /.extra/tpm2-measure.log,
// after the other /.extra files and before the addons' initrds, listing
// every event of the plan, the policy prelude first, which replays to
// the predicted values.
func TestMeasureLogInInitrd(t *testing.T) {
	esp, _ := measuredESP(t, "systemd-stub 257.1")
	write(t, esp, "loader/entries/t1.conf", []byte("linux /vmlinuz\ninitrd /one.img\noptions root=/dev/vda\n"))
	write(t, esp, "vmlinuz", []byte("KERNEL"))
	write(t, esp, "one.img", []byte("ONE"))
	for _, c := range []struct {
		name, entry string
		before      string // the piece the log comes before; "" for the end
	}{
		{"UKI", "m.efi", "addon /loader/addons/g.addon.efi .initrd"},
		{"type #1 entry", "t1.conf", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls int
			prelude := func(banks measure.Banks, v *authenticode.Verdict) []measure.Event {
				calls++
				if len(banks) != 3 || v != nil {
					t.Errorf("PolicyEvents(%v, %v), want the three banks and no verdict", banks, v)
				}
				return []measure.Event{{PCR: 7, Type: measure.EvEventTag, Description: "ukiboot policy", Digests: measure.Sum(banks, []byte("policy"))}}
			}
			p := build(t, target(t, esp, c.entry), stub.Policy{Measure: stub.MeasurePolicy{Banks: threeBanks, Log: true, PolicyEvents: prelude}})
			if calls != 1 || p.Events[0].PCR != 7 || p.Events[0].Description != "ukiboot policy" {
				t.Fatalf("%d calls; first event %+v, want the prelude", calls, p.Events[0])
			}
			initrd := readAll(t, p.Initrd)
			var at int
			for i, pc := range p.Pieces {
				if pc.Description == "/.extra/tpm2-measure.log (measured boot)" {
					at = i
				}
			}
			if at == 0 || (c.before == "" && at != len(p.Pieces)-1) || (c.before != "" && p.Pieces[at+1].Description != c.before) {
				t.Fatalf("log piece at %d of %+v, want before %q", at, p.Pieces, c.before)
			}
			files := parseNewc(t, initrd[p.Pieces[at].Offset:p.Pieces[at].Offset+p.Pieces[at].Size])
			if len(files) != 2 || files[1].name != ".extra/tpm2-measure.log" || files[1].mode != 0o100444 {
				t.Fatalf("log archive %+v", files)
			}
			recs, err := measure.ReadLog(strings.NewReader(files[1].data))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(p.Events) {
				t.Fatalf("log has %d records, plan %d events", len(recs), len(p.Events))
			}
			var back []measure.Event
			for i, r := range recs {
				e := p.Events[i]
				if r.PCR != e.PCR || r.Description != e.Description || !r.Digests.Equal(e.Digests) {
					t.Errorf("record %d %+v, event %+v", i, r, e)
				}
				back = append(back, r.Event())
			}
			want, got := measure.Replay(threeBanks, p.Events), measure.Replay(threeBanks, back)
			for pcr, v := range want {
				if !got[pcr].Equal(v) {
					t.Errorf("log replays PCR %d to %x, plan predicts %x", pcr, got[pcr], v)
				}
			}
		})
	}
}

// With ForceMeasure, SYSTEMD_FORCE_MEASURE=1 (for PID 1's
// ConditionSecurity=measured-uki) and systemd.setenv= of it (for
// systemd-pcrextend and systemd-cryptsetup, which get a clean
// environment) are appended unmeasured, each unless already set.
func TestForceMeasureAppendedUnmeasured(t *testing.T) {
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/plain.efi", ukitest.UKI(ukitest.S(".osrel", "ID=p\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".linux", "K")))
	write(t, esp, "EFI/Linux/set.efi", ukitest.UKI(ukitest.S(".osrel", "ID=s\n"), ukitest.S(".cmdline", "SYSTEMD_FORCE_MEASURE=0 quiet"), ukitest.S(".linux", "K")))
	for _, c := range []struct {
		name, id string
		force    bool
		cmdline  string
	}{
		{"both appended", "plain.efi", true, "quiet SYSTEMD_FORCE_MEASURE=1 systemd.setenv=SYSTEMD_FORCE_MEASURE=1"},
		{"already set: only setenv", "set.efi", true, "SYSTEMD_FORCE_MEASURE=0 quiet systemd.setenv=SYSTEMD_FORCE_MEASURE=1"},
		{"not asked", "plain.efi", false, "quiet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := build(t, target(t, esp, c.id), stub.Policy{Measure: stub.MeasurePolicy{ForceMeasure: c.force}})
			if p.Cmdline != c.cmdline {
				t.Errorf("cmdline %q, want %q", p.Cmdline, c.cmdline)
			}
			for _, e := range p.Events {
				if strings.Contains(e.Description, "FORCE_MEASURE=1") {
					t.Errorf("measured: %+v", e)
				}
			}
		})
	}
}

func TestPCR11RuleFor(t *testing.T) {
	for _, c := range []struct{ stub, want string }{
		{"systemd-stub 252.39-1~deb12u2", "systemd-stub 252 rules (.sdmagic says systemd-stub 252.39-1~deb12u2): .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey"},
		{"systemd-stub 251.4", "systemd-stub 252 rules (.sdmagic says systemd-stub 251.4: older than any known row, oldest rules)"},
		{"systemd-stub 255.4-1ubuntu8", "systemd-stub 254 rules (.sdmagic says systemd-stub 255.4-1ubuntu8): .linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrpkey"},
		{"systemd-stub 256.7", "systemd-stub 256 rules (.sdmagic says systemd-stub 256.7): .linux .osrel .cmdline .initrd .ucode .splash"},
		{"systemd-stub 258~rc1", "systemd-stub 258 rules (.sdmagic says systemd-stub 258~rc1): .linux"},
		{"systemd-stub 259", "systemd-stub 258 rules (.sdmagic says systemd-stub 259: newer than every row, newest rules): .linux .osrel .cmdline .initrd .ucode .splash .dtb .uname .sbat .pcrpkey .profile .dtbauto .hwids .efifw"},
		{"", "systemd-stub 258 rules (no .sdmagic: stub version unknown, newest rules)"},
		{"other-stub 1.0", `systemd-stub 258 rules (.sdmagic says "other-stub 1.0": not a systemd-stub release, newest rules)`},
		{"systemd-stub x", `systemd-stub 258 rules (.sdmagic says "systemd-stub x": not a systemd-stub release`},
	} {
		t.Run(c.stub, func(t *testing.T) {
			if got := stub.PCR11RuleFor(c.stub).String(); !strings.HasPrefix(got, c.want) {
				t.Errorf("%q, want %q...", got, c.want)
			}
		})
	}
}

// systemd-boot measures loader.conf, as read, into PCR 5 before anything
// it starts: a tagged event (LOADER_CONF, "loader.conf") after the policy
// prelude and before the entry's own events, for UKIs and type #1 entries.
func TestLoaderConfMeasuredIntoPCR5(t *testing.T) {
	esp, _ := measuredESP(t, "systemd-stub 257.1")
	write(t, esp, "loader/entries/t1.conf", []byte("linux /vmlinuz\noptions root=/dev/vda\n"))
	write(t, esp, "vmlinuz", []byte("KERNEL"))
	conf := []byte("# fleet\r\ndefault m*\ntimeout 3\n")
	for _, entry := range []string{"m.efi", "t1.conf"} {
		t.Run(entry, func(t *testing.T) {
			prelude := func(banks measure.Banks, _ *authenticode.Verdict) []measure.Event {
				return []measure.Event{{PCR: 7, Type: measure.EvIPL, Description: "policy", Digests: measure.Sum(banks, []byte("p"))}}
			}
			p := build(t, target(t, esp, entry), stub.Policy{Measure: stub.MeasurePolicy{Banks: threeBanks, PolicyEvents: prelude, LoaderConf: conf}})
			if len(p.Events) < 3 || p.Events[0].PCR != 7 {
				t.Fatalf("events %+v", p.Events)
			}
			e := p.Events[1]
			if e.PCR != 5 || e.Type != measure.EvEventTag || e.Tag != 0xf5bc582a || e.Description != "loader.conf" || e.Size != int64(len(conf)) {
				t.Fatalf("second event %+v, want PCR 5 EV_EVENT_TAG 0xf5bc582a loader.conf", e)
			}
			if got, want := hex.EncodeToString(e.EventData()[:8]), "2a58bcf518000000"; got != want {
				t.Errorf("event data header %s, want %s", got, want)
			}
			for _, a := range threeBanks {
				if !bytes.Equal(e.Digests[a], digestOf(a, conf)) {
					t.Errorf("%s digest is not of loader.conf's bytes", a)
				}
			}
			for _, later := range p.Events[2:] {
				if later.PCR == 5 {
					t.Errorf("a second PCR 5 event: %+v", later)
				}
			}
		})
	}
}

// A section the UKI's own stub neither measures nor knows is not used:
// otherwise it could be added to a UKI without changing PCR 11, which is
// what a secret sealed to that stub's PCR 11 trusts. .ucode (before 256)
// is left out of the initrd; a profile (before 257) is not selected and
// /.extra/profile is not written. The newer stub, which measures them,
// uses them (the control).
func TestSectionsUnknownToTheStubAreNotUsed(t *testing.T) {
	build1 := func(t *testing.T, magic, entry string, withUcode bool) (pcr11 string, initrd []byte, p *stub.Plan) {
		esp := t.TempDir()
		list := []ukitest.Section{ukitest.S(".sdmagic", "#### LoaderInfo: "+magic+" ####\x00"),
			ukitest.S(".osrel", "ID=m\n"), ukitest.S(".cmdline", "root=/dev/vda"),
			ukitest.B(".linux", bytes.Repeat([]byte("K"), 3000)), ukitest.S(".initrd", "UKI-INITRD")}
		if withUcode {
			list = append(list, ukitest.S(".ucode", "ATTACKER-CPIO-FILES"))
		}
		list = append(list, ukitest.S(".profile", "ID=default\n"), ukitest.S(".profile", "ID=rescue\n"), ukitest.S(".cmdline", "rescue=1"))
		write(t, esp, "EFI/Linux/m.efi", ukitest.UKI(list...))
		p = build(t, target(t, esp, entry), stub.Policy{Measure: stub.MeasurePolicy{Banks: measure.Banks{measure.SHA256}}})
		return hex.EncodeToString(measure.Replay(p.Banks, p.Events)[11][measure.SHA256]), readAll(t, p.Initrd), p
	}
	for _, c := range []struct {
		name, magic string
		knowsUcode  bool
	}{
		{"252 stub", "systemd-stub 252.39-1~deb12u2", false},
		{"255 stub", "systemd-stub 255.4-1ubuntu8", false},
		{"256 stub", "systemd-stub 256.7", true},
	} {
		t.Run(c.name+": .ucode", func(t *testing.T) {
			p0, i0, _ := build1(t, c.magic, "m.efi", false)
			p1, i1, _ := build1(t, c.magic, "m.efi", true)
			used := bytes.Contains(i1, []byte("ATTACKER-CPIO-FILES"))
			if used != c.knowsUcode || (p0 == p1) == c.knowsUcode {
				t.Errorf(".ucode put into the initrd: %v, changes PCR 11: %v; want both %v", used, p0 != p1, c.knowsUcode)
			}
			if !c.knowsUcode && !bytes.Equal(i0, i1) {
				t.Errorf("the initrd differs with an unmeasured .ucode")
			}
		})
	}
	t.Run("252 stub: no profiles", func(t *testing.T) {
		_, initrd, p := build1(t, "systemd-stub 252.39-1~deb12u2", "m.efi@rescue", false)
		if strings.Contains(p.Cmdline, "rescue=1") || bytes.Contains(initrd, []byte(".extra/profile")) {
			t.Errorf("a 252 stub's UKI got profile 1 (cmdline %q) or /.extra/profile", p.Cmdline)
		}
		for _, e := range p.Events {
			if e.Tag == measure.TagUKIProfile {
				t.Errorf("profile event measured for a stub that knows no profiles: %+v", e)
			}
		}
		if notes := strings.Join(p.Notes, "\n"); !strings.Contains(notes, "knows no profiles") {
			t.Errorf("notes do not say why profile 1 was not used:\n%s", notes)
		}
	})
	t.Run("257 stub: profile 1", func(t *testing.T) {
		_, initrd, p := build1(t, "systemd-stub 257.1", "m.efi@rescue", false)
		if !strings.Contains(p.Cmdline, "rescue=1") || !bytes.Contains(initrd, []byte(".extra/profile")) {
			t.Errorf("a 257 stub's UKI did not get profile 1: cmdline %q", p.Cmdline)
		}
	})
}
