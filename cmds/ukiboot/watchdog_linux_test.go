package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDisarmWatchdogd speaks u-root's watchdogd protocol: one byte 'D',
// one byte back ('O' is success), and does not wait forever for a daemon
// that does not answer.
func TestDisarmWatchdogd(t *testing.T) {
	tests := []struct {
		name   string
		listen bool
		reply  string // "" : read the request, answer nothing
		err    string
	}{
		{"the daemon disarms", true, "O", ""},
		{"the daemon fails", true, "E", "non-Ok op result: E"},
		{"no daemon", false, "", "cannot reach watchdogd"},
		{"a silent daemon times out", true, "", "non-Ok op result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uds := filepath.Join(t.TempDir(), "watchdogd")
			got := make(chan string, 1)
			if tc.listen {
				l, err := net.Listen("unix", uds)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				go func() {
					c, err := l.Accept()
					if err != nil {
						got <- err.Error()
						return
					}
					defer c.Close()
					b := make([]byte, 1)
					c.Read(b)
					got <- string(b)
					if tc.reply != "" {
						c.Write([]byte(tc.reply))
						return
					}
					c.Read(b) // until the client gives up
				}()
			}
			err := disarmWatchdogd(uds, 100*time.Millisecond)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if tc.listen {
				if op := <-got; op != "D" {
					t.Errorf("the daemon got %q, want D", op)
				}
			}
		})
	}
}
