package ukitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StubPath is where Debian's systemd-boot-efi package puts the x86-64 stub.
const StubPath = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

// RequireEnv is the environment variable that turns a missing external tool
// from a skip into a failure. `make test` sets it, after installing the
// tools, so that CI can never pass by skipping.
const RequireEnv = "UKIBOOT_REQUIRE_TOOLS"

// Need returns the path of an external program or file, or skips the test
// (fails it when UKIBOOT_REQUIRE_TOOLS=1).
func Need(t testing.TB, nameOrPath string) string {
	t.Helper()
	var p string
	var err error
	if filepath.IsAbs(nameOrPath) {
		_, err = os.Stat(nameOrPath)
		p = nameOrPath
	} else {
		p, err = exec.LookPath(nameOrPath)
	}
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s is required (%s=1) but missing: %v; run 'make deps'", nameOrPath, RequireEnv, err)
		}
		t.Skipf("%s not available: %v", nameOrPath, err)
	}
	return p
}

// ObjcopyUKI builds a UKI the way distributions did before ukify: Debian's
// systemd-stub with sections added by objcopy, each at its own VMA after
// the stub's. It returns the path of the new file in dir.
func ObjcopyUKI(t testing.TB, dir string, sections []Section) string {
	t.Helper()
	stub := Need(t, StubPath)
	objcopy := Need(t, "objcopy")
	args := []string{}
	vma := uint64(0x1000000) // well past the stub's own image
	for i, s := range sections {
		f := filepath.Join(dir, fmt.Sprintf("section%d%s", i, s.Name))
		if err := os.WriteFile(f, s.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args,
			"--add-section", s.Name+"="+f,
			"--change-section-vma", fmt.Sprintf("%s=0x%x", s.Name, vma))
		vma += (uint64(len(s.Data)) + 0xfffff) &^ 0xfffff
		vma += 0x100000
	}
	out := filepath.Join(dir, "objcopy-uki.efi")
	args = append(args, stub, out)
	if b, err := exec.Command(objcopy, args...).CombinedOutput(); err != nil {
		t.Fatalf("objcopy %v: %v\n%s", args, err, b)
	}
	return out
}

// WriteTree writes data to root/name, making the directories on the way.
func WriteTree(t testing.TB, root, name string, data []byte) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
