package stub_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// systemd-stub's load_addons loads addons with the firmware's LoadImage,
// which refuses an image built for another machine: the addon is ignored.
func TestAddonForAnotherMachineSkipped(t *testing.T) {
	esp := t.TempDir()
	other := uint16(0xaa64) // arm64
	if runtime.GOARCH == "arm64" {
		other = 0x8664
	}
	write(t, esp, "EFI/Linux/a.efi", ukitest.UKI(ukitest.S(".osrel", "ID=a\n"), ukitest.S(".cmdline", "ro"), ukitest.S(".linux", "K")))
	write(t, esp, "loader/addons/foreign.addon.efi", ukitest.Image{Machine: other, Sections: []ukitest.Section{ukitest.S(".cmdline", "foreign=1"), ukitest.S(".initrd", "FOREIGN")}}.Bytes())
	write(t, esp, "loader/addons/native.addon.efi", ukitest.UKI(ukitest.S(".cmdline", "native=1")))
	p := build(t, target(t, esp, "a.efi"), stub.Policy{})
	if p.Cmdline != "ro native=1" {
		t.Errorf("cmdline %q, want %q", p.Cmdline, "ro native=1")
	}
	if p.Initrd != nil && strings.Contains(string(readAll(t, p.Initrd)), "FOREIGN") {
		t.Error("the foreign addon's initrd was used")
	}
	if notes := strings.Join(p.Notes, "\n"); !strings.Contains(notes, "foreign.addon.efi skipped: built for") {
		t.Errorf("notes do not say why the addon was skipped:\n%s", notes)
	}
}
