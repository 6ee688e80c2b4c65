package main

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/kexec"
	"golang.org/x/sys/unix"
)

// referenceDoc is the reference of every flag, file, exit code and
// kernel error (docs/ukiboot.md).
const referenceDoc = "../../docs/ukiboot.md"

// TestReferenceDocumentsEveryFlag: every flag `ukiboot -h` lists has a
// row in docs/ukiboot.md, so the reference cannot fall behind the code.
func TestReferenceDocumentsEveryFlag(t *testing.T) {
	doc := readReference(t)
	var stdout, stderr bytes.Buffer
	if rc := runWith([]string{"-h"}, &stdout, &stderr, system{}); rc != 0 {
		t.Fatalf("-h: rc %d", rc)
	}
	var flags []string
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "  -"); ok {
			flags = append(flags, "-"+strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '\t' })[0])
		}
	}
	if len(flags) < 20 {
		t.Fatalf("only %d flags found in the usage:\n%s", len(flags), stderr.String())
	}
	for _, f := range flags {
		t.Run(f, func(t *testing.T) {
			if !strings.Contains(doc, "| `"+f+"`") && !strings.Contains(doc, "| `"+f+" ") {
				t.Errorf("%s has no row in %s", f, referenceDoc)
			}
		})
	}
}

// TestReferenceDocumentsEveryKexecError: every errno pkg/kexec explains
// is in the reference's table, with the explanation's words.
func TestReferenceDocumentsEveryKexecError(t *testing.T) {
	doc := readReference(t)
	unexpected := kexec.Explain(0)
	n := 0
	for e := unix.Errno(1); e < 200; e++ {
		text := kexec.Explain(e)
		if text == unexpected {
			continue
		}
		n++
		name := unix.ErrnoName(e)
		t.Run(name, func(t *testing.T) {
			var row string
			for _, l := range strings.Split(doc, "\n") {
				if strings.HasPrefix(l, "| `"+name+"` |") {
					row = strings.ReplaceAll(l, "`", "")
				}
			}
			if row == "" {
				t.Fatalf("%s has no row in %s", name, referenceDoc)
			}
			if !strings.Contains(row, text) {
				t.Errorf("%s's row does not say what ukiboot prints:\n%s\nwant %q", name, row, text)
			}
		})
	}
	if n < 5 {
		t.Fatalf("only %d errnos explained", n)
	}
}

func readReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(referenceDoc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
