//go:build !nonetboot

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/netboot"
	"github.com/ukiboot/ukiboot/pkg/netup"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"golang.org/x/sys/unix"
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
// on first use, the network brought up once per run before the first request
// (unless -net off, or the server is on a loopback address), and one
// netboot.Source per URL, shared by listing and booting.
type netBoot struct {
	o    *options
	up   func(ctx context.Context, wait time.Duration, logf func(string, ...any)) error
	logf func(string, ...any)

	// upOnce is the run's bring-up (options.netUp).
	upOnce *onceErr
	// trustDir holds the ROM's ca.pem (platform.trustDir).
	trustDir string

	clientOnce sync.Once
	client     *http.Client
	clientErr  error

	// progress is where download progress lines go (progressTo).
	progress io.Writer

	mu      sync.Mutex
	sources map[string]*netboot.Source // by URL as given
	// cancels end the listings' requests (endListing).
	cancels []context.CancelFunc
}

// newNetBoot is the network side of a pipeline of the run o; the first
// pipeline of a run makes the run's bring-up (o.netUp).
func newNetBoot(o *options, sys system, logf func(string, ...any)) *netBoot {
	if o.netUp == nil {
		o.netUp = &onceErr{}
	}
	return &netBoot{o: o, up: sys.netUp, upOnce: o.netUp, trustDir: sys.platform.trustDir, logf: logf, progress: progressTo(o.progress), sources: map[string]*netboot.Source{}}
}

// progressTo is where download progress lines go: w itself when it is a
// terminal, where the line is rewritten in place (\r); elsewhere (a log
// file, a pipe) only the line's last state, once, when the download ends,
// instead of a rewrite twice a second for the whole download.
func progressTo(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			return w
		}
	}
	return &lastLine{w: w}
}

// lastLine writes of each line only what follows its last \r, without
// the blanks that padded it.
type lastLine struct {
	w    io.Writer
	line []byte
}

func (l *lastLine) Write(p []byte) (int, error) {
	for _, b := range p {
		switch b {
		case '\r':
			l.line = l.line[:0]
		case '\n':
			l.w.Write(append(bytes.TrimRight(l.line, " "), '\n'))
			l.line = l.line[:0]
		default:
			l.line = append(l.line, b)
		}
	}
	return len(p), nil
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
			return n.headers(raw)
		}})
	}
}

// listTimeout is how long listing one -url UKI may take once the network
// is up: its few Range requests each get -net-read-timeout, but a
// hostile server answering each just in time, for a UKI whose sections
// are spread over many blocks, must not hold the menu and -auto for
// httpra.MaxRequests of them. Past it the UKI is listed by its URL
// (still bootable: the boot has its own bounds).
func (n *netBoot) listTimeout() time.Duration { return 2 * n.o.netReadTimeout }

// headers opens the -url UKI raw for listing, within listTimeout (counted
// after the network was brought up, which has its own -net-wait).
func (n *netBoot) headers(raw string) (io.ReaderAt, int64, error) {
	src, u, err := n.source(raw)
	if err != nil {
		return nil, 0, err
	}
	if ready := n.readyFor(u); ready != nil {
		ready(context.Background()) // once; its error is added to the request's
	}
	d := n.listTimeout()
	late := fmt.Errorf("%s: not listed within %v (-net-read-timeout x 2): the server is too slow", u, d)
	ctx, cancel := context.WithTimeoutCause(context.Background(), d, late)
	n.mu.Lock()
	n.cancels = append(n.cancels, cancel)
	n.mu.Unlock()
	r, size, err := src.Headers(ctx)
	if err != nil {
		return nil, 0, listErr(ctx, err)
	}
	return deadlineReader{r, ctx}, size, nil
}

// listErr is err, or the listing deadline's cause when it had passed.
func listErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return err
}

// deadlineReader names the listing deadline in the errors of reads that
// failed because it passed.
type deadlineReader struct {
	r   io.ReaderAt
	ctx context.Context
}

func (d deadlineReader) ReadAt(p []byte, off int64) (int, error) {
	k, err := d.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = listErr(d.ctx, err)
	}
	return k, err
}

// endListing ends what is left of the listings' requests (bls.Load
// has read what it lists).
func (n *netBoot) endListing() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.cancels {
		c()
	}
	n.cancels = nil
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
		Progress: n.progress, Ready: n.readyFor(u)})
	n.sources[raw] = s
	return s, u, nil
}

// httpClient makes the client on first use: a -ca file that cannot be
// read fails the network entries, not the boot.
func (n *netBoot) httpClient() (*http.Client, error) {
	n.clientOnce.Do(func() {
		ca := n.caFile()
		n.client, n.clientErr = netboot.NewClient(netboot.ClientOptions{CAFile: ca, ReadTimeout: n.o.netReadTimeout})
		switch {
		case n.clientErr == nil || ca == "":
		case ca == n.o.ca:
			n.clientErr = fmt.Errorf("-ca %s: %w", ca, n.clientErr)
		default:
			n.clientErr = fmt.Errorf("the ROM's CA file (used when no -ca is given): %w", n.clientErr)
		}
	})
	return n.client, n.clientErr
}

// caFile is the CA bundle https:// servers are checked against: -ca, else
// the ROM's ca.pem beside its trust store (make rom CA=FILE) when it is
// there (one that cannot be read is an error, not the system's roots),
// else "" (the system's roots).
func (n *netBoot) caFile() string {
	if n.o.ca != "" || n.trustDir == "" {
		return n.o.ca
	}
	rom := filepath.Join(n.trustDir, "ca.pem")
	if _, err := os.Lstat(rom); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return rom
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
		n.upOnce.once.Do(func() {
			switch {
			case n.o.net == "off" || n.up == nil:
				return
			case n.o.dryRun || n.o.list:
				n.logf("network: not brought up: -dry-run and -list change nothing (bring it up first, or give -net off to hide this)")
				return
			}
			if n.upOnce.err = n.up(ctx, n.o.netWait, n.logf); n.upOnce.err != nil {
				n.logf("network: %v", n.upOnce.err)
			}
		})
		return n.upOnce.err
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
