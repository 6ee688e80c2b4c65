package kmod

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Copied is a module CopySet copied: its name and its path under to.
type Copied struct {
	Name, Path string
}

type module struct {
	name string
	src  string // path relative to from, as shipped
	dst  string // path relative to to, uncompressed
	data []byte // uncompressed
	deps []string
}

// CopySet copies the modules names and everything they depend on out of
// from (lib/modules/VERSION of an unpacked kernel package) into to, with a
// modules.dep for just those modules, as depmod would write it: what
// modprobe, and u-root's init loading /lib/modules-load.d, read.
// Compressed modules (.ko.xz, .ko.zst, .ko.gz) are stored uncompressed, so
// the VM can load them without kernel support for compressed modules, and
// every file is named after its module (see storedName). It returns the
// modules copied, in load order, and the requested modules that the
// kernel has built in, which are skipped.
func CopySet(from, to string, names []string) (copied []Copied, builtin []string, err error) {
	index, err := indexModules(from)
	if err != nil {
		return nil, nil, err
	}
	builtins, err := builtins(from)
	if err != nil {
		return nil, nil, err
	}
	mods := map[string]*module{}
	var add func(name, by string) error
	add = func(name, by string) error {
		if mods[name] != nil {
			return nil
		}
		src, ok := index[name]
		if !ok {
			if builtins[name] {
				if by == "" {
					builtin = append(builtin, name)
				}
				return nil
			}
			if by != "" {
				return fmt.Errorf("%s needs %s, which is neither a module nor built in", by, name)
			}
			return fmt.Errorf("no module %s in %s", name, from)
		}
		data, err := readModule(filepath.Join(from, src))
		if err != nil {
			return err
		}
		info, err := ModInfo(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %v", src, err)
		}
		m := &module{name: name, src: src, dst: storedName(src), data: data, deps: Depends(info)}
		mods[name] = m
		for _, d := range m.deps {
			if err := add(d, name); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		if err := add(Name(n), ""); err != nil {
			return nil, nil, err
		}
	}

	// modules.dep: every module with all its dependencies, transitively.
	dep := Dep{}
	for _, m := range mods {
		dep[m.dst] = nil
	}
	for _, m := range mods {
		seen := map[string]bool{}
		var all []string
		var walk func(*module)
		walk = func(m *module) {
			for _, d := range m.deps {
				dm := mods[d]
				if dm == nil || seen[d] { // built in
					continue
				}
				seen[d] = true
				walk(dm)
				all = append(all, dm.dst)
			}
		}
		walk(m)
		// all has dependencies before their users; modules.dep wants
		// the reverse (modprobe loads from the end of the line).
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
		dep[m.dst] = all
	}
	order, err := dep.LoadOrder()
	if err != nil {
		return nil, nil, err
	}

	if err := os.RemoveAll(to); err != nil {
		return nil, nil, err
	}
	byDst := map[string]*module{}
	for _, m := range mods {
		byDst[m.dst] = m
		p := filepath.Join(to, filepath.FromSlash(m.dst))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(p, m.data, 0o644); err != nil {
			return nil, nil, err
		}
	}
	var b bytes.Buffer
	if err := dep.Format(&b); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(to, "modules.dep"), b.Bytes(), 0o644); err != nil {
		return nil, nil, err
	}
	for _, f := range order {
		copied = append(copied, Copied{Name: byDst[f].name, Path: f})
	}
	return copied, builtin, nil
}

// indexModules maps module names to their files under dir.
func indexModules(dir string) (map[string]string, error) {
	index := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsModule(p) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := Name(rel)
		// Like depmod, prefer updates/ or extra/ over kernel/.
		if old, ok := index[name]; ok && (!strings.HasPrefix(old, "kernel/") || strings.HasPrefix(rel, "kernel/")) {
			return nil
		}
		index[name] = rel
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(index) == 0 {
		return nil, fmt.Errorf("no kernel modules under %s", dir)
	}
	return index, nil
}

// builtins returns the names of modules.builtin, if the package has one.
func builtins(dir string) (map[string]bool, error) {
	m := map[string]bool{}
	f, err := os.Open(filepath.Join(dir, "modules.builtin"))
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" {
			m[Name(l)] = true
		}
	}
	return m, s.Err()
}

// storedName is where CopySet stores the module file p: uncompressed, and
// named after the module ("-" as "_"), because u-root's kmodule looks a
// module up by its name with every "-" or every "_", and so misses a
// file whose name mixes them (nls_iso8859-1.ko).
func storedName(p string) string {
	return path.Join(path.Dir(p), Name(p)+".ko")
}

// readModule returns the uncompressed contents of a module file. xz and
// zstd are left to the programs of those names (xz-utils, zstd).
func readModule(p string) ([]byte, error) {
	switch {
	case strings.HasSuffix(p, ".ko"):
		return os.ReadFile(p)
	case strings.HasSuffix(p, ".gz"):
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		return io.ReadAll(z)
	case strings.HasSuffix(p, ".xz"), strings.HasSuffix(p, ".zst"):
		prog := "xz"
		if strings.HasSuffix(p, ".zst") {
			prog = "zstd"
		}
		var stderr bytes.Buffer
		c := exec.Command(prog, "-dc", p)
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			return nil, fmt.Errorf("%s -dc %s: %v: %s", prog, p, err, strings.TrimSpace(stderr.String()))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: not a module file", p)
}
