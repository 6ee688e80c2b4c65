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
