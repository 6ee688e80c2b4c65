package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// seconds is a duration flag that also takes plain seconds ("5"), as
// -timeout and loader.conf do.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		*s = seconds(time.Duration(n) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("want seconds (5) or a duration (5s, 1m)")
	}
	*s = seconds(d)
	return nil
}

// version is what -version prints: the module version and the commit it
// was built from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ukiboot (no build information)"
	}
	v := "ukiboot " + bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value
		case "vcs.modified":
			if s.Value == "true" {
				v += " (modified)"
			}
		}
	}
	return v + " " + bi.GoVersion
}

// menuTimeoutFlag is -timeout, parsed when it is set so that a bad value
// exits 2 before any disk is scanned.
type menuTimeoutFlag struct {
	set bool
	bls.Timeout
}

func (t *menuTimeoutFlag) String() string {
	if !t.set {
		return ""
	}
	return t.Timeout.String()
}

func (t *menuTimeoutFlag) Set(v string) error {
	lt, err := parseMenuTimeout(v)
	if err != nil {
		return err
	}
	*t = menuTimeoutFlag{true, lt}
	return nil
}

// parseMenuTimeout reads -timeout: a duration (5s, rounded up to whole
// seconds), plain seconds, or menu-force, menu-hidden, menu-disabled.
func parseMenuTimeout(v string) (bls.Timeout, error) {
	d, err := time.ParseDuration(v)
	switch {
	case err == nil && d < 0:
		return bls.Timeout{}, fmt.Errorf("a negative timeout: want seconds (5), a duration (5s), menu-force, menu-hidden or menu-disabled")
	case err == nil:
		return bls.Timeout{Kind: bls.TimeoutSeconds, Seconds: int((d + time.Second - 1) / time.Second)}, nil
	}
	return bls.ParseTimeout(v)
}
