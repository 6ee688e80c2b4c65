package stub_test

import (
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Under enforcement a type #1 "uki" entry (unsigned, on the ESP) may pick
// a profile with "@N" in its options, as systemd-boot and the stub allow,
// but the rest of its options, -append and the menu's edit must not reach
// the kernel when the chosen profile has a .cmdline, even when the base
// or the entry's own profile has none; and a control character or a
// non-BMP character must not smuggle anything past that rule. The
// console= appended last carries only the -console value.
func TestAdversarial11ProfileSelectionDoesNotInjectOptions(t *testing.T) {
	ca := ukitest.NewCA(t, "db CA", false)
	key := ukitest.NewLeaf(t, "signer", false, ca)
	store := authenticode.NewStore()
	store.DB.Certs = append(store.DB.Certs, ca.Cert)
	enforce := stub.Policy{Verify: stub.Verification{Mode: stub.VerifyEnforce, Store: store}, Console: "ttyS0,115200"}

	esp := t.TempDir()
	write(t, esp, "EFI/multi.efi", signed(t, key,
		ukitest.S(".osrel", "ID=m\n"), ukitest.S(".linux", "K"),
		ukitest.S(".profile", "ID=a\n"),
		ukitest.S(".profile", "ID=b\n"), ukitest.S(".cmdline", "signed-b"),
	))
	for _, c := range []struct {
		name, options, want string
	}{
		{"@1 picks the profile with .cmdline", "@1 init=/bin/sh", "signed-b console=ttyS0,115200"},
		{"@1 then a tab: everything ignored, profile 0", "@1 init=/bin/sh\tx", "console=ttyS0,115200"},
		{"non-BMP before @1: dropped, as UTF-16 loses it", "\U0001F600@1 init=/bin/sh", "signed-b console=ttyS0,115200"},
		{"profile key and @1", "@1 rd.break", "signed-b console=ttyS0,115200"},
	} {
		t.Run(c.name, func(t *testing.T) {
			write(t, esp, "loader/entries/e.conf", []byte("uki /EFI/multi.efi\noptions "+c.options+"\n"))
			p, err := stub.Build(target(t, esp, "e.conf"), enforce)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.Cmdline != c.want {
				t.Errorf("cmdline %q, want %q", p.Cmdline, c.want)
			}
			if strings.Contains(p.Cmdline, "init=") && strings.Contains(c.want, "signed") {
				t.Errorf("options reached a signed profile's command line: %q", p.Cmdline)
			}
		})
	}
	// -append with a profile that has a .cmdline is refused.
	write(t, esp, "loader/entries/e.conf", []byte("uki /EFI/multi.efi\noptions @1\n"))
	pol := enforce
	pol.Append = "init=/bin/sh"
	if p, err := stub.Build(target(t, esp, "e.conf"), pol); err == nil {
		p.Close()
		t.Errorf("-append accepted under enforcement for a profile with .cmdline: %q", p.Cmdline)
	}
}
