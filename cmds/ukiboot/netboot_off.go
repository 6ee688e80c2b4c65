//go:build nonetboot

package main

import (
	"context"
	"errors"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Without network boot (-tags nonetboot): no -url, uki-url entries stay
// hidden, and neither net/http, crypto/tls nor u-root's dhclient is
// linked (netboot.go is the other side).

// noNetBoot is what -url says in a build without network boot.
const noNetBoot = "this ukiboot was built without network boot (-tags nonetboot)"

// realNetUp is nil: nothing brings the network up.
func realNetUp() func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error {
	return nil
}

// checkURLFlags refuses every -url.
func checkURLFlags(urls []string) string {
	if len(urls) > 0 {
		return noNetBoot
	}
	return ""
}

// netBoot is nothing without network boot.
type netBoot struct{}

// newNetBoot is the nothing that stands for network boot.
func newNetBoot(*options, system, func(string, ...any)) *netBoot { return &netBoot{} }

// endListing has nothing to end.
func (*netBoot) endListing() {}

// blsOptions leaves uki-url entries hidden.
func (*netBoot) blsOptions(*bls.Options) {}

// target is never called: bls lists no network entry.
func (*netBoot) target(*bls.Entry, *stub.Policy) (stub.Target, error) {
	return stub.Target{}, errors.New(noNetBoot)
}
