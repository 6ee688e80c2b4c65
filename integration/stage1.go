package integration

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hugelgupf/vmtest/qemu"
	"github.com/hugelgupf/vmtest/qemu/quimage"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"

	"github.com/ukiboot/ukiboot/integration/internal/kmod"
)

// Stage1Env names a first-stage initramfs to boot instead of building one.
// TestMain builds the image once per test process and sets it for the
// tests; set it yourself to test an image built before.
const Stage1Env = "UKIBOOT_STAGE1"

// stage1Modules are the modules the first stage has u-root's init load
// from /lib/modules-load.d (their dependencies come along): virtio-blk
// (needs the virtio_pci transport), AHCI disks (ahci, sd_mod), the ESP
// (vfat with the code page 437, iso8859-1, utf8 and ascii nls: ascii is
// the kernel's default iocharset) and ext4 (whose checksums need crc32c).
func stage1Modules() []string {
	return []string{"virtio_pci", "virtio_blk", "ahci", "sd_mod", "vfat", "nls_cp437",
		"nls_iso8859-1", "nls_utf8", "nls_ascii", "ext4", "crc32c_generic"}
}

// stage1Commands are the Go commands of the first stage, one busybox.
func stage1Commands() []string {
	return []string{
		"github.com/u-root/u-root/cmds/core/init",
		"github.com/u-root/u-root/cmds/core/gosh",
		"github.com/ukiboot/ukiboot/cmds/ukiboot",
		"github.com/ukiboot/ukiboot/integration/cmds/testinit",
	}
}

// BuildStage1 builds the first-stage initramfs into dir/stage1.cpio with
// vmtest's quimage (u-root's mkuimage): u-root's init, which loads the
// modules of /lib/modules-load.d/ukiboot-test.conf and then runs testinit
// (the uinit) with the arguments of uroot.uinitargs=; gosh; ukiboot; and
// the modules of the kernel a.KernelVersion with their modules.dep. It
// runs on the host, from the package directory (go builds the commands of
// this module and of u-root at the versions of go.mod).
func BuildStage1(a *Assets, dir string, log llog.Printf) (string, error) {
	modDir := filepath.Join(dir, "modules")
	copied, builtin, err := kmod.CopySet(a.Modules, modDir, stage1Modules())
	if err != nil {
		return "", fmt.Errorf("picking the first stage's modules out of %s: %w", a.Modules, err)
	}
	for _, m := range builtin {
		log("%s is built into the kernel, skipped", m)
	}
	conf, n, err := writeModulesLoad(dir, copied)
	if err != nil {
		return "", err
	}
	log("first stage: %d modules of %s (%d with their dependencies)", n, a.KernelVersion, len(copied))

	tmp := filepath.Join(dir, "build")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "stage1.cpio")
	build := quimage.WithUimage(llog.New(slog.LevelInfo, log), out,
		uimage.WithTempDir(tmp),
		uimage.WithBaseArchive(uimage.DefaultRamfs()),
		uimage.WithBusyboxCommands(stage1Commands()...),
		uimage.WithInit("init"),
		uimage.WithUinitCommand("testinit"),
		uimage.WithShell("gosh"),
		uimage.WithFiles(
			modDir+":lib/modules/"+a.KernelVersion,
			conf+":lib/modules-load.d/ukiboot-test.conf",
		),
	)
	o, err := qemu.OptionsFor(qemu.ArchAMD64, build)
	if err != nil {
		return "", fmt.Errorf("building the first stage: %w", err)
	}
	return o.Initramfs, nil
}

// writeModulesLoad writes dir/modules-load.conf: the names of
// stage1Modules that CopySet copied, so that u-root's init does not try
// one the kernel has built in.
func writeModulesLoad(dir string, copied []kmod.Copied) (string, int, error) {
	names := map[string]bool{}
	for _, c := range copied {
		names[c.Name] = true
	}
	var b strings.Builder
	b.WriteString("# The modules of the ukiboot first stage (integration/stage1.go).\n")
	n := 0
	for _, m := range stage1Modules() {
		if names[kmod.Name(m)] {
			b.WriteString(m + "\n")
			n++
		}
	}
	p := filepath.Join(dir, "modules-load.conf")
	return p, n, os.WriteFile(p, []byte(b.String()), 0o644)
}
