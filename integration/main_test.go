package integration

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMain builds the first-stage initramfs once for all the VM tests of
// this process (BuildStage1, into a temporary directory) and hands it to
// them in UKIBOOT_STAGE1, unless UKIBOOT_INTEGRATION is not 1 (no VM test
// runs) or UKIBOOT_STAGE1 is set already.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(IntegrationEnv) != "1" {
		return m.Run()
	}
	if root, err := repoRoot(); err == nil && os.Getenv(LogDirEnv) == "" {
		// The serial logs of this run only (newConsoleLog numbers them).
		os.RemoveAll(filepath.Join(root, "out", "vmlogs"))
	}
	if os.Getenv(Stage1Env) != "" {
		return m.Run()
	}
	a, err := findAssets()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "ukiboot-stage1-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	stage1, err := BuildStage1(a, dir, log.New(os.Stderr, "stage1: ", 0).Printf)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	fi, err := os.Stat(stage1)
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "stage1: %s, %d bytes, built in %.1fs\n", stage1, fi.Size(), time.Since(start).Seconds())
	os.Setenv(Stage1Env, stage1)
	return m.Run()
}
