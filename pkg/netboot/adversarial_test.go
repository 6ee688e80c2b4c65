package netboot_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestErrorsHideUserinfo: the user and password of a URL appear in no
// message, also when the request itself fails (Go's *url.Error masks a
// password but keeps the user, and a token given as the user whole).
func TestErrorsHideUserinfo(t *testing.T) {
	addr := closedPort(t)
	for _, raw := range []string{
		"http://TOKEN1234@" + addr + "/fleet.efi",
		"http://USERNAME:secret@" + addr + "/fleet.efi",
	} {
		u, err := netboot.ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		src := netboot.NewSource(u, netboot.Options{ReadTimeout: 2 * time.Second})
		_, _, err = src.Headers(context.Background())
		if err == nil {
			t.Fatal("Headers succeeded against a closed port")
		}
		_, err2 := src.Files().Open(src.Name())
		_, err3 := stub.Build(stub.Target{Entry: stub.PlanEntry{ID: "x", Path: u.String()}, Files: src.Files(), UKI: src.Name()}, stub.Policy{})
		for _, e := range []error{err, err2, err3} {
			if e == nil {
				t.Fatal("no error against a closed port")
			}
			for _, secret := range []string{"TOKEN1234", "USERNAME", "secret"} {
				if strings.Contains(e.Error(), secret) {
					t.Errorf("error %q shows %q of the URL's userinfo", e, secret)
				}
			}
		}
	}
}
