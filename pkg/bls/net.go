package bls

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
)

// NetUKI is a UKI served over the network that the caller was told to
// boot (ukiboot's -url). Load lists it as type #2 entries, one per
// profile, before the entries of every partition.
type NetUKI struct {
	// URL is the URL as given (Entry.UKIURL); Name is how messages name
	// it: without a password and without the fragment.
	URL, Name string
	// Headers opens the UKI to read its headers and small sections and
	// returns its size. When it fails, or a read through it fails, the
	// UKI is listed under its URL as a bootable entry (Entry.Warning says
	// why it could not be listed): the boot attempt reports what goes
	// wrong then.
	Headers func() (io.ReaderAt, int64, error)
}

// DefaultSourceURL is Config.DefaultSource when the default is the first
// -url entry (Options.URLs): the ROM owner's choice beats the variables
// and loader.conf of the disks.
const DefaultSourceURL = "-url"

// Network reports whether e boots a UKI from the network: a -url entry
// or a type #1 entry with uki-url. Its UKI is then the URL as messages
// name it, and Root is nil or the partition of its .conf file only.
func (e *Entry) Network() bool { return e.UKIURL != "" }

// checkUKIURL decides whether a type #1 uki-url entry is listed: not
// without network boot (o.NetBoot), not with the relative ":name" form
// (systemd-boot resolves it against the URL it was itself loaded from,
// and ukiboot was loaded from none); a URL the network code refuses
// (o.CheckURL) is listed as invalid, with the reason.
func checkUKIURL(e *Entry, o Options) {
	switch {
	case strings.HasPrefix(e.UKIURL, ":"):
		e.hide("uki-url %s: no origin URL to resolve it against (ukiboot was not loaded from a URL; systemd-boot drops it too)", e.UKIURL)
	case !o.NetBoot:
		name, err := urlName(e.UKIURL)
		if err != nil {
			name = e.UKIURL
		}
		e.hide("uki-url %s: ukiboot cannot boot from the network (built without network boot)", name)
	default:
		name, err := o.checkURL(e.UKIURL)
		if err != nil {
			e.invalid("uki-url: %v", err)
			return
		}
		e.UKI = name
	}
}

// checkURL is o.CheckURL, or urlName without one.
func (o Options) checkURL(raw string) (string, error) {
	if o.CheckURL != nil {
		return o.CheckURL(raw)
	}
	return urlName(raw)
}

// urlName checks that raw is an absolute http:// or https:// URL and
// returns it as messages name it: without user information and fragment.
func urlName(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URL: give an absolute http:// or https:// URL")
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: not an absolute http:// or https:// URL: give one", u)
	}
	return u.String(), nil
}

// urlID is the id of the -url UKI named name: the last segment of its
// path in lower case, or name itself when that is empty or taken by
// another entry.
func urlID(name string, taken map[string]bool) string {
	id := ""
	if u, err := url.Parse(name); err == nil {
		id = strings.ToLower(u.Path[strings.LastIndex(u.Path, "/")+1:])
	}
	if id == "" || taken[id] {
		return name
	}
	return id
}

// loadURLs makes the entries of the -url UKIs, in the order given; their
// ids avoid those of the entries found so far (found, shown or hidden).
func loadURLs(found []*Entry, o Options) []*Entry {
	taken := map[string]bool{}
	for _, e := range found {
		taken[e.ID] = true
	}
	var out []*Entry
	for _, n := range o.URLs {
		base := &Entry{Type: Type2, Origin: n.Name, UKIURL: n.URL, UKI: n.Name, Title: n.Name,
			Status: StatusOK, TriesLeft: -1, TriesDone: -1}
		base.ID = urlID(n.Name, taken)
		base.FileName = base.ID
		for _, e := range urlEntries(base, n, o) {
			taken[e.ID] = true
			out = append(out, e)
		}
	}
	return out
}

// urlEntries lists the UKI of n as type2Entries lists a file. A UKI that
// could not be read is listed under its URL with the reason in Warning;
// one that is not a UKI for this CPU, or has no title in .osrel, is listed
// as invalid (the user named it: it is not dropped as systemd-boot drops
// such files).
func urlEntries(base *Entry, n NetUKI, o Options) []*Entry {
	unread := func(err error) []*Entry {
		base.Warning = err
		if !strings.Contains(err.Error(), n.Name) {
			base.Warning = fmt.Errorf("%s: %w", n.Name, err)
		}
		return []*Entry{base}
	}
	r, size, err := n.Headers()
	if err != nil {
		return unread(err)
	}
	nr := &netReader{r: r}
	listed := *base
	out := ukiEntries(&listed, nr, size, o)
	if err := nr.failed(); err != nil {
		return unread(err)
	}
	return out
}

// netReader remembers the first read that failed for a reason other
// than the end of the file: the network, not the UKI.
type netReader struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err error
}

func (n *netReader) ReadAt(p []byte, off int64) (int, error) {
	k, err := n.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		n.mu.Lock()
		if n.err == nil {
			n.err = err
		}
		n.mu.Unlock()
	}
	return k, err
}

func (n *netReader) failed() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}
