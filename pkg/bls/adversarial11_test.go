package bls_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// An unverified UKI on the ESP with a large base .osrel and the most
// profiles a UKI may have must not make listing read and parse that
// .osrel once per profile: the work of listing stays proportional to the
// file, not 256 times it.
func TestAdversarial11ProfilesShareOSRel(t *testing.T) {
	var osrel strings.Builder
	osrel.WriteString("PRETTY_NAME=big\n")
	for i := 0; osrel.Len() < uki.MaxTextSize-64; i++ {
		fmt.Fprintf(&osrel, "K%07d=v\n", i)
	}
	secs := []ukitest.Section{ukitest.S(".osrel", osrel.String()), ukitest.S(".linux", "K")}
	for i := range uki.MaxProfiles {
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\n", i)))
	}
	esp := t.TempDir()
	write(t, esp, "EFI/Linux/big.efi", ukitest.UKI(secs...))
	start := time.Now()
	c := load(t, bls.Options{}, esp)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("listing one %d-profile UKI with a %d-byte .osrel took %v", uki.MaxProfiles, osrel.Len(), d)
	}
	if len(c.Entries) != uki.MaxProfiles {
		t.Errorf("%d entries", len(c.Entries))
	}
}
