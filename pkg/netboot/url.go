package netboot

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/httpra"
)

// URL is where a network UKI is served, and the oldest version it may
// have.
type URL struct {
	// URL is absolute, http or https, without a fragment; it may hold a
	// user and password, which String leaves out.
	URL *url.URL
	// MinVersion is the fragment's min-version ("" for none): the UKI's
	// .uname (else its .osrel version) must not be older.
	MinVersion string
}

// minVersionKey is the only key a URL's fragment may have.
const minVersionKey = "min-version"

// ParseURL parses an absolute http:// or https:// URL whose fragment, if
// any, is "min-version=V". The fragment is removed from URL (it is never
// sent to a server).
func ParseURL(s string) (URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue names the URL with its password
		}
		shown, hidden := redactRaw(s)
		if hidden {
			// url.Parse's words quote what it took for a port or a host,
			// which may be a piece of the password.
			return URL{}, fmt.Errorf("%s: not a URL; give an absolute http:// or https:// URL (percent-encode '#', '/', '?' and '@' in a user or password)", shown)
		}
		return URL{}, fmt.Errorf("%s: not a URL: %v; give an absolute http:// or https:// URL", shown, err)
	}
	shown := URL{URL: u}.String()
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		if u.Opaque != "" || u.Host == "" {
			// "user:password@host/a.efi" parses with the scheme "user"
			// and the rest opaque, which String shows whole.
			shown, _ = redactRaw(s)
		}
		return URL{}, fmt.Errorf("%s: not an absolute http:// or https:// URL; give one (e.g. https://boot.example/fleet.efi)", shown)
	}
	min, err := parseFragment(u.Fragment, u.EscapedFragment())
	if err != nil {
		return URL{}, fmt.Errorf("%s: %w", shown, err)
	}
	u.Fragment, u.RawFragment = "", ""
	return URL{URL: u, MinVersion: min}, nil
}

// parseFragment returns the version of "min-version=V" (or "" for no
// fragment); raw is the fragment as written, for messages.
func parseFragment(frag, raw string) (string, error) {
	if frag == "" {
		return "", nil
	}
	key, v, ok := strings.Cut(frag, "=")
	if !ok || key != minVersionKey {
		return "", fmt.Errorf("fragment #%s: the only fragment allowed is #%s=VERSION", raw, minVersionKey)
	}
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("&;#=", r) }) {
		return "", fmt.Errorf("fragment #%s: %q is not a version; give one, e.g. #%s=6.12", raw, v, minVersionKey)
	}
	return v, nil
}

// String is the URL without user, password or fragment: the name of the
// UKI in messages and PCR event descriptions.
func (u URL) String() string {
	if u.URL == nil {
		return ""
	}
	return httpra.Display(u.URL)
}

// request is the URL requests are sent to: with its user and password,
// without a fragment.
func (u URL) request() string {
	c := *u.URL
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}

// redactRaw hides the user information of a string that does not parse
// as a URL: what lies between "://" and the last '@' (a password may hold
// an unencoded '/', '?' or '#', so the '@' may come after one). It also
// says whether it hid anything.
func redactRaw(s string) (string, bool) {
	prefix, rest, ok := strings.Cut(s, "://")
	if ok {
		prefix += "://"
	} else {
		prefix, rest = "", s
	}
	at := strings.LastIndex(rest, "@")
	if at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	return fmt.Sprintf("%q", prefix+rest), at >= 0
}
