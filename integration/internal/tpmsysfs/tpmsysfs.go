// Package tpmsysfs reads the PCRs of a TPM 2.0 as Linux shows them in
// sysfs (since 5.12): /sys/class/tpm/tpm0/pcr-<bank>/<pcr>, one file per
// PCR holding its value in upper-case hex and a newline. The test inits
// (testinit, report) print them; the tests compare them with ukiboot's
// predictions.
package tpmsysfs

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Dir is where Linux shows the first TPM.
const Dir = "/sys/class/tpm/tpm0"

// Banks returns the names of the PCR banks (sha1, sha256, ...) that the
// TPM at dir has active, sorted: the pcr-<bank> directories.
func Banks(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "pcr-*"))
	if err != nil {
		return nil, err
	}
	var banks []string
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			banks = append(banks, strings.TrimPrefix(filepath.Base(p), "pcr-"))
		}
	}
	sort.Strings(banks)
	return banks, nil
}

// Read returns the value of PCR pcr in bank, as lower-case hex.
func Read(dir, bank string, pcr int) (string, error) {
	p := filepath.Join(dir, "pcr-"+bank, strconv.Itoa(pcr))
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	s := strings.ToLower(strings.TrimSpace(string(b)))
	if _, err := hex.DecodeString(s); err != nil || s == "" {
		return "", fmt.Errorf("%s: not a PCR value in hex: %q", p, b)
	}
	return s, nil
}

// Line is one PCR value as the test inits print it after their prefix:
// "<bank> <pcr> <hex>".
func Line(bank string, pcr int, value string) string {
	return fmt.Sprintf("%s %d %s", bank, pcr, value)
}

// ParseLine reads what Line wrote.
func ParseLine(s string) (bank string, pcr int, value []byte, err error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return "", 0, nil, fmt.Errorf("PCR line %q: want \"<bank> <pcr> <hex>\"", s)
	}
	if pcr, err = strconv.Atoi(f[1]); err != nil || pcr < 0 || pcr > 23 {
		return "", 0, nil, fmt.Errorf("PCR line %q: bad PCR index", s)
	}
	if value, err = hex.DecodeString(f[2]); err != nil {
		return "", 0, nil, fmt.Errorf("PCR line %q: %v", s, err)
	}
	return f[0], pcr, value, nil
}
