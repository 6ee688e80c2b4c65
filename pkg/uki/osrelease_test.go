package uki_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/uki"
)

func TestParseOSRelease(t *testing.T) {
	cases := []struct {
		in   string
		want []uki.Field
	}{
		{"", nil},
		{"ID=debian\n", []uki.Field{{"ID", "debian"}}},
		{"ID=debian", []uki.Field{{"ID", "debian"}}},
		{"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", []uki.Field{{"PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)"}}},
		{"A='single $quoted \\ text'\n", []uki.Field{{"A", "single $quoted \\ text"}}},
		{"# comment\n; also comment\n  \nA=1\n", []uki.Field{{"A", "1"}}},
		{"  A  =   spaced value   \n", []uki.Field{{"A", "spaced value"}}},
		{"A=\"x\\\"y\\\\z\\$w\\`v\\n\"\n", []uki.Field{{"A", "x\"y\\z$w`v\\n"}}},
		{"A=unquoted\\ escaped\\\\\n", []uki.Field{{"A", "unquoted escaped\\"}}},
		{"A=con\\\ntinued\n", []uki.Field{{"A", "continued"}}},
		{"A=\"multi\nline\"\n", []uki.Field{{"A", "multi\nline"}}},
		{"A=\"con\\\ntinued\"\n", []uki.Field{{"A", "continued"}}},
		{"A=a\"b c\"d\n", []uki.Field{{"A", "a\"b c\"d"}}},
		{"A=\"b c\"d\n", []uki.Field{{"A", "b cd"}}},
		{"A=\"b c\" 'd e'\n", []uki.Field{{"A", "b cd e"}}},
		{"A=1\nB=2\nA=3\n", []uki.Field{{"A", "3"}, {"B", "2"}}},
		{"NOEQUALS\nB=2\n", []uki.Field{{"B", "2"}}},
		{"EMPTY=\nB=\"\"\n", []uki.Field{{"EMPTY", ""}, {"B", ""}}},
		{"A=1\r\nB=2\r\n", []uki.Field{{"A", "1"}, {"B", "2"}}},
		{"A=1\x00B=2\n", []uki.Field{{"A", "1"}}},
		{"A=\"unterminated", []uki.Field{{"A", "unterminated"}}},
		{"# comment \\\nB=2\n", []uki.Field{{"B", "2"}}},
		{"NAME=Fedora Linux\nVERSION=\"40 (Forty)\"\n", []uki.Field{{"NAME", "Fedora Linux"}, {"VERSION", "40 (Forty)"}}},
		{"A=ünïcödé\n", []uki.Field{{"A", "ünïcödé"}}},
	}
	for _, c := range cases {
		o, err := uki.ParseOSRelease([]byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(o.Fields, c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.in, o.Fields, c.want)
		}
	}
}

func TestParseOSReleaseInvalidUTF8(t *testing.T) {
	for _, in := range []string{"A=\xff\n", "\xfe=1\n"} {
		if _, err := uki.ParseOSRelease([]byte(in)); !errors.Is(err, uki.ErrOSRelease) {
			t.Errorf("%q: err = %v, want ErrOSRelease", in, err)
		}
	}
}

func TestOSReleaseFirst(t *testing.T) {
	o, _ := uki.ParseOSRelease([]byte("NAME=Name\nID=id\nPRETTY_NAME=\n"))
	if got := o.First("PRETTY_NAME", "IMAGE_ID", "NAME", "ID"); got != "Name" {
		t.Errorf("First = %q", got)
	}
	var none *uki.OSRelease
	if none.Get("ID") != "" {
		t.Error("nil OSRelease")
	}
}

// TestBootKeyValues follows systemd's src/boot/efi-string.c:
// line_get_key_value (and its test vectors in test-efi-string.c), which
// systemd-boot uses for loader.conf, type #1 entries, .osrel and .profile.
func TestBootKeyValues(t *testing.T) {
	type kv struct{ Key, Value string }
	cases := []struct {
		name, sep, in string
		want          []kv
	}{
		{"systemd's os-release vector", "=", "key=value\n \t  # comment line \nk-e-y=\"quoted value\"\n\r  wrong= 'quotes' \nodd= stripping  # with comments  ",
			[]kv{{"key", "value"}, {"k-e-y", "quoted value"}, {"wrong", " 'quotes'"}, {"odd", " stripping  # with comments"}}},
		{"systemd's entry vector", " \t", "this parser\n\t\t\t# is\t\r  also\tused  \r\nfor \"the conf\"\nformat\t !!",
			[]kv{{"this", "parser"}, {"also", "used"}, {"for", "the conf"}, {"format", "!!"}}},
		{"single quotes removed", "=", "A='x y'\n", []kv{{"A", "x y"}}},
		{"one pair only", "=", "A=\"\"x\"\"\n", []kv{{"A", "\"x\""}}},
		{"mismatched quotes kept", "=", "A=\"x'\n", []kv{{"A", "\"x'"}}},
		{"no escapes", "=", `A="a\"b\\"` + "\n", []kv{{"A", `a\"b\\`}}},
		{"a lone quote is empty", " \t", "title \"\n", []kv{{"title", ""}}},
		{"key keeps blanks before =", "=", "NAME = x\n", []kv{{"NAME ", " x"}}},
		{"several separators skipped", "=", "A==b\n", []kv{{"A", "b"}}},
		{"no separator: ignored", " \t", "lonely\nk v\n", []kv{{"k", "v"}}},
		{"ends at NUL", "=", "A=1\x00B=2\n", []kv{{"A", "1"}}},
		{"empty value at the end", "=", "A=1\nB=", []kv{{"A", "1"}, {"B", ""}}},
		{"empty value takes the rest of the text", "=", "A=\nB=2\nC=3\n", []kv{{"A", "B=2\nC=3\n"}, {"B", "2"}, {"C", "3"}}},
		{"empty value with trailing blanks", "=", "A=  \nB=2\n", []kv{{"A", " "}, {"B", "2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []kv
			uki.BootKeyValues([]byte(tc.in), tc.sep, func(_ int, k, v string) { got = append(got, kv{k, v}) })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestFirstSet: bootspec_pick_name_version_sort_key takes the first field
// that is set, even to "".
func TestFirstSet(t *testing.T) {
	o := uki.ParseBootOSRelease([]byte("PRETTY_NAME=\"\"\nNAME=Fedora\n"))
	if v, ok := o.FirstSet("PRETTY_NAME", "NAME"); v != "" || !ok {
		t.Errorf("FirstSet = %q, %v; want the empty PRETTY_NAME", v, ok)
	}
	if v, ok := o.FirstSet("IMAGE_ID", "ID"); v != "" || ok {
		t.Errorf("FirstSet of unset fields = %q, %v", v, ok)
	}
}
