// Package kmod reads just enough of Linux kernel modules for the test VMs:
// the dependencies a module declares in its .modinfo section, the
// modules.dep file that depmod writes, and the order to load modules in.
//
// It runs on the build host: CopySet picks modules out of a kernel package
// for the first-stage image, where u-root's init loads them (the modules
// listed in /lib/modules-load.d, with the dependencies of modules.dep).
package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Name returns the module name of a module file path: the base name
// without .ko and compression suffix, with '-' turned into '_' as the
// kernel does ("kernel/fs/nls/nls_iso8859-1.ko" is "nls_iso8859_1").
func Name(file string) string {
	b := path.Base(file)
	for _, s := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, s)
	}
	b = strings.TrimSuffix(b, ".ko")
	return strings.ReplaceAll(b, "-", "_")
}

// IsModule reports whether file names a kernel module, compressed or not.
func IsModule(file string) bool {
	for _, s := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(file, s) {
			return true
		}
	}
	return false
}

// ModInfo returns the key=value strings of an uncompressed module's
// .modinfo section, in file order.
func ModInfo(r io.ReaderAt) ([]string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	b, err := s.Data()
	if err != nil {
		return nil, err
	}
	var kv []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			kv = append(kv, string(f))
		}
	}
	return kv, nil
}

// Depends returns the module names listed in the "depends=" entry of a
// module's .modinfo key=value strings, normalized with Name.
func Depends(modinfo []string) []string {
	var deps []string
	for _, kv := range modinfo {
		v, ok := strings.CutPrefix(kv, "depends=")
		if !ok {
			continue
		}
		for _, d := range strings.Split(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				deps = append(deps, Name(d))
			}
		}
	}
	return deps
}

// Dep is the modules.dep of one kernel: for each module file (a path
// relative to /lib/modules/VERSION), the files of all the modules it
// needs, transitively.
type Dep map[string][]string

// ParseDep reads a modules.dep file ("file: dep dep ...", one a line).
func ParseDep(r io.Reader) (Dep, error) {
	d := Dep{}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("modules.dep line %d: no colon: %q", n, line)
		}
		d[strings.TrimSpace(mod)] = strings.Fields(deps)
	}
	return d, s.Err()
}

// Format writes d in the format of depmod's modules.dep, files sorted.
// Each line lists the dependencies so that loading them from last to first
// works, as modprobe does.
func (d Dep) Format(w io.Writer) error {
	files := make([]string, 0, len(d))
	for f := range d {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		if _, err := fmt.Fprintf(w, "%s:", f); err != nil {
			return err
		}
		for _, dep := range d[f] {
			if _, err := fmt.Fprintf(w, " %s", dep); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}

// LoadOrder returns every module file of d once, each after all of its
// dependencies. Modules without an order between them are sorted by file
// name so the order is the same on every run. A dependency missing from d
// or a cycle is an error.
func (d Dep) LoadOrder() ([]string, error) {
	files := make([]string, 0, len(d))
	for f := range d {
		files = append(files, f)
	}
	sort.Strings(files)
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []string
	var visit func(f string, from string) error
	visit = func(f, from string) error {
		switch state[f] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle through %s", f)
		}
		deps, ok := d[f]
		if !ok {
			return fmt.Errorf("%s needs %s, which modules.dep does not list", from, f)
		}
		state[f] = visiting
		// modprobe loads a line's dependencies from last to first:
		// visit them in that order.
		for i := len(deps) - 1; i >= 0; i-- {
			if err := visit(deps[i], f); err != nil {
				return err
			}
		}
		state[f] = done
		order = append(order, f)
		return nil
	}
	for _, f := range files {
		if err := visit(f, "modules.dep"); err != nil {
			return nil, err
		}
	}
	return order, nil
}
