//go:build tools

package integration

// The first-stage initramfs (BuildStage1) is built by vmtest's quimage
// from these u-root commands. Importing them here makes go.mod pin the
// u-root version compiled into the image. The VM tests run on vmtest (its
// qemu and quimage packages), at the version u-root v0.16.0 pins.
import (
	_ "github.com/hugelgupf/vmtest/qemu"
	_ "github.com/hugelgupf/vmtest/qemu/quimage"
	_ "github.com/u-root/u-root/cmds/core/gosh"
	_ "github.com/u-root/u-root/cmds/core/init"
)
