package netboot

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		name, in   string
		shown, req string // String(), the request URL
		min        string
		err        string // a part of the error; "" for none
	}{
		{name: "https", in: "https://boot.example/fleet/uki.efi", shown: "https://boot.example/fleet/uki.efi", req: "https://boot.example/fleet/uki.efi"},
		{name: "http with port", in: "http://10.0.2.2:8080/a.efi", shown: "http://10.0.2.2:8080/a.efi", req: "http://10.0.2.2:8080/a.efi"},
		{name: "IPv6 literal", in: "http://[fd00::2]/a.efi", shown: "http://[fd00::2]/a.efi", req: "http://[fd00::2]/a.efi"},
		{name: "upper-case scheme", in: "HTTPS://boot.example/a.efi", shown: "https://boot.example/a.efi", req: "https://boot.example/a.efi"},
		{name: "min-version", in: "https://boot.example/a.efi#min-version=6.12", shown: "https://boot.example/a.efi", req: "https://boot.example/a.efi", min: "6.12"},
		{name: "empty fragment", in: "https://boot.example/a.efi#", shown: "https://boot.example/a.efi", req: "https://boot.example/a.efi"},
		{name: "user and password redacted, sent", in: "https://u:secret@boot.example/a.efi#min-version=1", shown: "https://boot.example/a.efi", req: "https://u:secret@boot.example/a.efi", min: "1"},
		{name: "query kept", in: "https://boot.example/get?f=a.efi", shown: "https://boot.example/get?f=a.efi", req: "https://boot.example/get?f=a.efi"},
		{name: "relative", in: "/EFI/Linux/a.efi", err: "not an absolute http:// or https:// URL"},
		{name: "relative uki-url form", in: ":a.efi", err: "not a URL"},
		{name: "ftp", in: "ftp://boot.example/a.efi", err: "not an absolute http:// or https:// URL"},
		{name: "file", in: "file:///a.efi", err: "not an absolute"},
		{name: "no host", in: "http:///a.efi", err: "not an absolute"},
		{name: "opaque", in: "http:a.efi", err: "not an absolute"},
		{name: "other fragment key", in: "https://boot.example/a.efi#max-version=2", err: "the only fragment allowed is #min-version=VERSION"},
		{name: "two keys", in: "https://boot.example/a.efi#min-version=2&x=1", err: "is not a version"},
		{name: "bare fragment", in: "https://boot.example/a.efi#min-version", err: "the only fragment allowed"},
		{name: "empty version", in: "https://boot.example/a.efi#min-version=", err: "is not a version"},
		{name: "version with a space", in: "https://boot.example/a.efi#min-version=6%2012", err: "is not a version"},
		{name: "bad URL with password", in: "https://u:secret@boot example/a.efi", err: `"https://xxxxx@boot example/a.efi": not a URL`},
		{name: "bad fragment with password", in: "https://u:secret@boot.example/a.efi#x=1", err: "https://boot.example/a.efi: fragment #x=1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := ParseURL(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseURL(%q) = %v, %v; want an error with %q", c.in, u, err, c.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != c.shown {
				t.Errorf("String() = %q, want %q", got, c.shown)
			}
			if got := u.request(); got != c.req {
				t.Errorf("request URL %q, want %q", got, c.req)
			}
			if u.MinVersion != c.min {
				t.Errorf("MinVersion %q, want %q", u.MinVersion, c.min)
			}
		})
	}
}

func TestName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://boot.example/fleet/Fleet-6.12.efi", "/Fleet-6.12.efi"},
		{"https://boot.example/", "/uki.efi"},
		{"https://boot.example", "/uki.efi"},
		{"https://boot.example/dir/", "/dir"},
		{"https://boot.example/a%20b.efi?x=1", "/a b.efi"},
	} {
		t.Run(c.in, func(t *testing.T) {
			u, err := ParseURL(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := NewSource(u, Options{}).Name(); got != c.want {
				t.Errorf("Name() = %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzParseURL: ParseURL does not panic, and what it accepts is an
// absolute http(s) URL whose String shows no user, password or fragment
// and parses again to the same URL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://boot.example/a.efi", "http://u:p@[::1]:80/x#min-version=6.12", "http://h/%zz", "https://h/a#min-version=", "HTTP://h?q#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		shown := u.String()
		if u.URL.Scheme != "http" && u.URL.Scheme != "https" || u.URL.Host == "" {
			t.Fatalf("ParseURL(%q) accepted %q", s, shown)
		}
		if u.URL.Fragment != "" || strings.Contains(u.request(), "#") {
			t.Fatalf("ParseURL(%q) kept a fragment: %q", s, u.request())
		}
		again, err := ParseURL(shown)
		if err != nil || again.String() != shown || again.URL.User != nil || again.MinVersion != "" {
			t.Fatalf("ParseURL(%q).String() = %q parses to %v, %v", s, shown, again, err)
		}
	})
}
