package netboot

import (
	"strings"
	"testing"
)

// TestParseURLErrorsHidePassword: a password with a character that ends
// the authority ('#', '/', '?': the user forgot to percent-encode it)
// makes the URL unparsable; the error must still not show the password,
// neither in the URL it quotes nor in url.Parse's own words (which quote
// the "port" or "host" it found, a piece of the password).
func TestParseURLErrorsHidePassword(t *testing.T) {
	for _, in := range []string{
		"https://user:pa#ssw0rd@boot.example/a.efi",
		"https://user:pa/ssw0rd@boot.example/a.efi",
		"https://user:pa?ssw0rd@boot.example/a.efi",
		"https://user:p4ssw0rd#@boot.example/a.efi",
		"user:p4ssw0rd@boot example/a.efi",
	} {
		_, err := ParseURL(in)
		if err == nil {
			continue // parsed: String() redacts
		}
		for _, secret := range []string{"ssw0rd", `"pa"`, ":pa", "p4ss"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("ParseURL(%q): error %q shows %s of the password", in, err, secret)
			}
		}
	}
}
