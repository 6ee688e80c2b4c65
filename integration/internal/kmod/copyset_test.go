package kmod

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCopySet(t *testing.T) {
	from := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(from, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	z.Write(FakeModule("depends=", "name=core_lib"))
	z.Close()
	write("kernel/lib/core-lib.ko.gz", gz.Bytes())
	write("kernel/drivers/mid.ko", FakeModule("depends=core-lib,builtin_thing"))
	write("kernel/drivers/top.ko", FakeModule("depends=mid,core_lib"))
	write("kernel/fs/alone.ko", FakeModule("depends="))
	write("kernel/fs/unused.ko", FakeModule("depends="))
	write("updates/alone.ko", FakeModule("depends=", "updated=1"))
	write("modules.builtin", []byte("kernel/drivers/builtin_thing.ko\nkernel/fs/also-builtin.ko\n"))

	to := filepath.Join(t.TempDir(), "lib/modules/1.0")
	copied, builtin, err := CopySet(from, to, []string{"top", "alone", "also_builtin"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, c := range copied {
		out.WriteString(c.Name + " " + c.Path + "\n")
	}
	wantOut := `core_lib kernel/lib/core_lib.ko
mid kernel/drivers/mid.ko
top kernel/drivers/top.ko
alone updates/alone.ko
`
	if out.String() != wantOut {
		t.Errorf("copied:\n%s\nwant:\n%s", out.String(), wantOut)
	}
	if !slices.Equal(builtin, []string{"also_builtin"}) {
		t.Errorf("built in: %q", builtin)
	}
	dep, err := os.ReadFile(filepath.Join(to, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	wantDep := `kernel/drivers/mid.ko: kernel/lib/core_lib.ko
kernel/drivers/top.ko: kernel/drivers/mid.ko kernel/lib/core_lib.ko
kernel/lib/core_lib.ko:
updates/alone.ko:
`
	if string(dep) != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", dep, wantDep)
	}
	// Stored uncompressed, named after the module: u-root's kmodule
	// looks core_lib up as core-lib.ko or core_lib.ko, and would miss
	// a file named core_lib-x.ko.
	b, err := os.ReadFile(filepath.Join(to, "kernel/lib/core_lib.ko"))
	if err != nil || !bytes.Equal(b, FakeModule("depends=", "name=core_lib")) {
		t.Errorf("core-lib.ko: %v", err)
	}
	if _, err := os.Stat(filepath.Join(to, "kernel/fs/unused.ko")); !os.IsNotExist(err) {
		t.Errorf("unused.ko copied: %v", err)
	}

	if _, _, err := CopySet(from, to, []string{"nosuch"}); err == nil {
		t.Error("unknown module: no error")
	}
	write("kernel/drivers/broken.ko", FakeModule("depends=missing"))
	if _, _, err := CopySet(from, to, []string{"broken"}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dependency: %v", err)
	}
}
