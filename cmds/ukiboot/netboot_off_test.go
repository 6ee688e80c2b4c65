//go:build nonetboot

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// TestNoNetBootRefusesURL: built without network boot, -url is a usage
// error that says so, and a uki-url entry stays hidden with that reason.
// (go test -tags nonetboot ./cmds/ukiboot)
func TestNoNetBootRefusesURL(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-list", "-root", t.TempDir(), "-url", "http://127.0.0.1/x.efi"}, &stdout, &stderr, system{}); rc != 2 ||
		!strings.Contains(stderr.String(), "this ukiboot was built without network boot (-tags nonetboot)") {
		t.Errorf("-url: rc %d, stderr %q; want 2 and the reason", rc, stderr.String())
	}
	esp := t.TempDir()
	ukitest.WriteTree(t, esp, "loader/entries/net.conf", []byte("uki-url http://127.0.0.1/x.efi\n"))
	stdout.Reset()
	f := &fakeSystem{platform: noPlatform(t)}
	runWith([]string{"-list", "-v", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys())
	if !strings.Contains(stdout.String(), "net.conf: "+esp+"/loader/entries/net.conf: uki-url http://127.0.0.1/x.efi: ukiboot cannot boot from the network") {
		t.Errorf("-list -v:\n%s", stdout.String())
	}
}
