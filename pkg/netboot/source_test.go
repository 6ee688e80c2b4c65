package netboot_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/netboot"
)

// TestReady: the network is brought up before the first request; its
// failure does not decide (the request's does) but is told with it.
func TestReady(t *testing.T) {
	f := newFleet(t)
	for _, c := range []struct {
		name     string
		readyErr error
		down     bool   // the server is gone
		err      string // "" for none
	}{
		{name: "up"},
		{name: "bring-up failed, the server answers anyway", readyErr: errors.New("no DHCP answer on eth0")},
		{name: "bring-up failed, the request too", readyErr: errors.New("no DHCP answer on eth0"), down: true, err: "bringing the network up failed: no DHCP answer on eth0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &server{data: f.img}
			u := s.start(t, "")
			calls := 0
			ready := func(ctx context.Context) error {
				calls++
				if s.ranges.Load()+s.gets.Load() != 0 {
					t.Error("Ready called after a request")
				}
				if c.down {
					u.URL.Host = "127.0.0.1:1" // nothing listens there
				}
				return c.readyErr
			}
			src := netboot.NewSource(u, netboot.Options{Ready: ready})
			_, _, err := src.Headers(t.Context())
			if calls != 1 {
				t.Errorf("Ready called %d times, want 1", calls)
			}
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}
