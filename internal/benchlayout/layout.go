// Package benchlayout is what make bench's two programs agree on: where
// benchfix writes each fixture and benchtab finds it, and how both read
// a list of sizes.
package benchlayout

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// UKIPath is where a fixture directory's UKI is, below its ESP.
const UKIPath = "EFI/Linux/big.efi"

// SignedDir is the directory of the signed UKI of mib MiB made from
// seed: its ESP in esp/, its CA in ca.pem.
func SignedDir(out string, mib int, seed uint64) string {
	return filepath.Join(out, fmt.Sprintf("uki-%dm-seed%d", mib, seed))
}

// ListDir is the directory of the ESP tree (in esp/) of n UKIs of mib
// MiB each.
func ListDir(out string, n, mib int) string {
	return filepath.Join(out, fmt.Sprintf("list-%dx%dm", n, mib))
}

// ParseSizes reads a comma-separated list of sizes in MiB, each from 1
// to 4096.
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4096 {
			return nil, fmt.Errorf("%q is not a size in MiB from 1 to 4096", f)
		}
		out = append(out, n)
	}
	return out, nil
}
