package integration

import (
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// Issue 10's case in the VM: with a trust store, an ESP holding unsigned
// p-3.efi, signed q.efi and signed p-1.efi, and loader.conf "default p-*".
// ukiboot -list (run here, on the same files) and ukiboot -auto (in the
// first stage) agree: the default is p-3.efi, -auto tries the entries in
// the order -list shows, is refused p-3.efi, and boots the next.
func TestListAndAutoAgreeOnOrder(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	ca := ukitest.NewCA(t, "Fleet db CA", false)
	signer := ukitest.NewLeaf(t, "Fleet UKI Signer", false, ca)
	uki := func(id, version, marker string, key *ukitest.Key) []byte {
		secs := []ukitest.Section{
			ukitest.S(".osrel", "ID="+id+"\nVERSION_ID="+version+"\n"),
			ukitest.S(".cmdline", stage2Cmdline+" scenario="+marker),
			ukitest.B(".linux", s.kernel),
			ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-" + marker, Data: []byte(marker + "\n")})),
		}
		if key == nil {
			return ukitest.UKI(secs...)
		}
		return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
	}
	esp := tree(t, map[string][]byte{
		"EFI/Linux/p-3.efi":  uki("p", "3", "p3", nil),
		"EFI/Linux/q.efi":    uki("q", "1", "q", signer),
		"EFI/Linux/p-1.efi":  uki("p", "1", "p1", signer),
		"loader/loader.conf": []byte("default p-*\n"),
	})
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	db := tree(t, map[string][]byte{"ca.pem": caPEM})

	// -list on the host, from the same code.
	c := exec.Command(ukitest.Need(t, "go"), "run", "./cmds/ukiboot", "-list", "-json", "-db", filepath.Join(db, "ca.pem"), "-root", esp)
	c.Dir = RepoRoot(t)
	c.Stderr = os.Stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("ukiboot -list: %v", err)
	}
	var entries []struct {
		ID        string `json:"id"`
		Default   bool   `json:"default"`
		AutoOrder int    `json:"auto_order"`
	}
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].AutoOrder < entries[j].AutoOrder })
	var order []string
	for _, e := range entries {
		if e.AutoOrder > 0 {
			order = append(order, e.ID)
		}
		if e.Default && e.ID != "p-3.efi" {
			t.Errorf("-list: the default is %s, want p-3.efi (loader.conf's p-*, unmoved by trust)", e.ID)
		}
	}
	if len(order) != 3 || order[0] != "p-3.efi" {
		t.Fatalf("-list: -auto order %v", order)
	}

	d := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: esp}})
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1With(t, File{Name: "etc/ukiboot/db/ca.pem", Data: caPEM}),
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-auto", "-v"),
		Disks:     []string{d.Path},
	})
	vm.Expect(`verification: enforce \(a trust store is configured\)`, BootTimeout)
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	var tried []string
	for _, m := range regexp.MustCompile(`ukiboot: (?:booting|cannot boot) ([^\s:]+)`).FindAllStringSubmatch(vm.Output(), -1) {
		if len(tried) == 0 || tried[len(tried)-1] != m[1] {
			tried = append(tried, m[1])
		}
	}
	if strings.Join(tried, " ") != strings.Join(order[:2], " ") {
		t.Errorf("-auto tried %v; -list says it tries %v", tried, order)
	}
	want := map[string]string{"q.efi": "q", "p-1.efi": "p1"}[order[1]]
	if r.Markers["marker-"+want] != want {
		t.Errorf("booted %q (markers %v), want %s", r.Cmdline, r.Markers, order[1])
	}
}
