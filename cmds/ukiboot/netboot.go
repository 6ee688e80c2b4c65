//go:build !nonetboot

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/netup"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// Network boot: -url UKIs and type #1 uki-url entries, read with
// pkg/netboot over HTTP(S). Without it (-tags nonetboot, netboot_off.go)
// ukiboot links neither net/http, crypto/tls nor u-root's dhclient.

// realNetUp is pkg/netup.Up.
func realNetUp() func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error {
	return func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error {
		return netup.Up(ctx, netup.Options{Wait: wait, Logf: logf})
	}
}

// checkURLFlags says what is wrong with the -url flags ("" when
// nothing): each must be an absolute http:// or https:// URL whose
// fragment, if any, is #min-version=V.
func checkURLFlags(urls []string) string {
	for _, u := range urls {
		if _, err := netboot.ParseURL(u); err != nil {
			return fmt.Sprintf("-url %v", err)
		}
	}
	return ""
}

// netBoot is the network side of one pipeline: the HTTP(S) client, made
// on first use, the network brought up once before the first request
// (unless -net off, or the server is on a loopback address), and one
// netboot.Source per URL, shared by listing and booting.
type netBoot struct {
	o    *options
	up   func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error
	logf func(string, ...any)

	upOnce sync.Once
	upErr  error

	clientOnce sync.Once
	client     *http.Client
	clientErr  error

	mu      sync.Mutex
	sources map[string]*netboot.Source // by URL as given
}

func newNetBoot(o *options, sys system, logf func(string, ...any)) *netBoot {
	return &netBoot{o: o, up: sys.netUp, logf: logf, sources: map[string]*netboot.Source{}}
}

// blsOptions makes uki-url entries bootable and lists the -url UKIs.
func (n *netBoot) blsOptions(bo *bls.Options) {
	bo.NetBoot = true
	bo.CheckURL = func(raw string) (string, error) {
		u, err := netboot.ParseURL(raw)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	for _, raw := range n.o.urls {
		u, err := netboot.ParseURL(raw)
		if err != nil {
			continue // checkURLFlags refused it already
		}
		bo.URLs = append(bo.URLs, bls.NetUKI{URL: raw, Name: u.String(), Headers: func() (io.ReaderAt, int64, error) {
			src, _, err := n.source(raw)
			if err != nil {
				return nil, 0, err
			}
			return src.Headers(context.Background())
		}})
	}
}

// target is the target of the network entry e, with the minimum version
// its URL asks for in pol.
func (n *netBoot) target(e *bls.Entry, pol *stub.Policy) (stub.Target, error) {
	src, u, err := n.source(e.UKIURL)
	if err != nil {
		return stub.Target{}, err
	}
	pol.MinVersion = u.MinVersion
	return stub.NetTargetOf(e, src)
}

// source is the netboot.Source of the URL raw (as given), made once.
func (n *netBoot) source(raw string) (*netboot.Source, netboot.URL, error) {
	u, err := netboot.ParseURL(raw)
	if err != nil {
		return nil, u, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.sources[raw]; ok {
		return s, u, nil
	}
	c, err := n.httpClient()
	if err != nil {
		return nil, u, err
	}
	s := netboot.NewSource(u, netboot.Options{Client: c, MaxSize: n.o.maxSize, ReadTimeout: n.o.netReadTimeout,
		Progress: n.o.progress, Ready: n.readyFor(u)})
	n.sources[raw] = s
	return s, u, nil
}

// httpClient makes the client on first use: a -ca file that cannot be
// read fails the network entries, not the boot.
func (n *netBoot) httpClient() (*http.Client, error) {
	n.clientOnce.Do(func() {
		n.client, n.clientErr = netboot.NewClient(netboot.ClientOptions{CAFile: n.o.ca, ReadTimeout: n.o.netReadTimeout})
		if n.clientErr != nil {
			n.clientErr = fmt.Errorf("-ca %s: %w", n.o.ca, n.clientErr)
		}
	})
	return n.client, n.clientErr
}

// readyFor is the Ready of u's source: the network is brought up once,
// before the first request to a server that is not on a loopback
// address. Its failure is logged and added to the request's error, which
// decides. -dry-run and -list change nothing, the network configuration
// included: they use the network as it is.
func (n *netBoot) readyFor(u netboot.URL) func(ctx context.Context) error {
	if isLoopback(u.URL.Hostname()) {
		return nil
	}
	return func(ctx context.Context) error {
		n.upOnce.Do(func() {
			switch {
			case n.o.net == "off" || n.up == nil:
				return
			case n.o.dryRun || n.o.list:
				n.logf("network: not brought up: -dry-run and -list change nothing (bring it up first, or give -net off to hide this)")
				return
			}
			if n.upErr = n.up(ctx, n.o.netWait, n.logf); n.upErr != nil {
				n.logf("network: %v", n.upErr)
			}
		})
		return n.upErr
	}
}

// isLoopback reports whether host names this machine: localhost or a
// loopback address, which needs no network.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
