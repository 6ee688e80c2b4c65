package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/kexec"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"golang.org/x/sys/unix"
)

// system is what ukiboot does to the machine; tests replace it.
type system struct {
	// roots mounts the ESP/XBOOTLDR partitions and returns their
	// directories (ESP first) and a function that unmounts them.
	roots func(o *options, log func(string, ...any)) (*partitions, error)
	load  func(kernel, initrd *os.File, cmdline string) error
	boot  func() error
	// power reboots or powers off (reboot(2) commands).
	power func(cmd int) error
	// stdin is the console the menu reads keys from.
	stdin *os.File
	// platform says whether the kernel is locked down and where the trust
	// stores are.
	platform platform
}

func realSystem() system {
	return system{roots: scanDisks, load: kexec.Load, boot: kexec.Reboot, platform: realPlatform(), power: unix.Reboot, stdin: os.Stdin}
}

// candidates returns the entries to try, in order: with -entry the
// matching ones, else the default followed by every other bootable entry.
func candidates(c *bls.Config, pattern string) []*bls.Entry {
	var out []*bls.Entry
	if pattern != "" {
		for _, e := range c.Entries {
			if bls.MatchID(pattern, e.ID) {
				out = append(out, e)
			}
		}
		return out
	}
	if c.Default >= 0 {
		out = append(out, c.Entries[c.Default])
	}
	for i, e := range c.Entries {
		if i != c.Default && e.Bootable() {
			out = append(out, e)
		}
	}
	return out
}

// boot runs -auto and -dry-run: build the plan of each candidate in turn,
// load it, and reboot into the first that loads.
func boot(o *options, sys system, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "ukiboot: "+format+"\n", args...) }
	parts, err := sys.roots(o, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}
	roots := parts.dirs
	unmount := sync.OnceFunc(parts.close)
	defer unmount()
	c, err := bls.Load(roots, bls.Options{Vars: efiVars()})
	if err != nil {
		logf("%v", err)
		return 1
	}
	closeConfig := sync.OnceFunc(func() { c.Close() })
	defer closeConfig()
	if o.verbose {
		for _, w := range c.Warnings {
			logf("warning: %s", w)
		}
	}
	for _, e := range c.Entries {
		if e.Err != nil && (o.entry == "" || bls.MatchID(o.entry, e.ID)) {
			logf("cannot boot %s: %v", e.ID, e.Err)
		}
	}
	list := candidates(c, o.entry)
	if len(list) == 0 {
		if o.entry != "" {
			logf("no entry matches %q", o.entry)
		} else {
			logf("no bootable entry on %v", roots)
		}
		return 1
	}
	ver, why, err := sys.platform.policy(o)
	if err != nil {
		logf("%v", err)
		return 1
	}
	logf("verification: %s (%s)", ver.Mode, why)
	pol := stub.Policy{Append: o.append, Verify: ver, MaxSize: o.maxSize}
	consumeOneShot(c, logf)
	for _, e := range list {
		if !e.Bootable() {
			continue
		}
		if o.dryRun {
			logf("booting %s (%s)", e.ID, e.ShowTitle)
			if e.Counter != nil {
				logf("boot counting: would rename %s to %s", e.FileName, e.Counter.Next())
			}
			plan, err := stub.Build(e, pol)
			if err != nil {
				logf("cannot boot %s: %v", e.ID, err)
				continue
			}
			for _, n := range plan.Notes {
				logf("note: %s", n)
			}
			err = printPlan(stdout, plan, o.json)
			if err == nil && o.extract != "" {
				err = extract(plan, o.extract)
			}
			plan.Close()
			if err != nil {
				logf("%v", err)
				return 1
			}
			return 0
		}
		if err := loadEntry(e, pol, parts, sys, logf); err != nil {
			continue
		}
		closeConfig()
		unmount()
		if err := sys.boot(); err != nil {
			logf("%v", err)
			return 1
		}
		return 0
	}
	logf("nothing could be booted")
	return 1
}

// loadEntry tries one entry: boot counting, the plan, kexec_file_load.
// Every failure is logged with its reason and returned.
func loadEntry(e *bls.Entry, pol stub.Policy, parts *partitions, sys system, logf func(string, ...any)) error {
	logf("booting %s (%s)", e.ID, e.ShowTitle)
	pol.BootCountPath = ""
	if e.Counter != nil {
		if err := bumpCounter(e, parts); err != nil {
			logf("boot counting: %v; booting anyway", err)
		} else {
			logf("boot counting: renamed to %s (%d tries left)", e.FileName, e.TriesLeft)
			pol.BootCountPath = e.Path
		}
	}
	plan, err := stub.Build(e, pol)
	if err != nil {
		logf("cannot boot %s: %v", e.ID, err)
		return err
	}
	for _, n := range plan.Notes {
		logf("note: %s", n)
	}
	err = sys.load(plan.Kernel.File, initrdFile(plan), plan.Cmdline)
	plan.Close()
	if err != nil {
		logf("cannot load %s: %v", e.ID, err)
		var ke *kexec.Error
		if errors.As(err, &ke) && ke.InnerSignature {
			envelope := "the UKI's signature was not checked"
			if v := plan.Verdict; v != nil && v.Status == authenticode.Trusted {
				envelope = "the UKI's own signature is trusted (signed by " + v.Signer + ")"
			}
			logf("%s, but the running kernel's keyrings do not trust the kernel inside it (.linux): "+
				"sign .linux itself with a key the running kernel trusts (its builtin or secondary keyring, "+
				"or the platform keyring filled from UEFI db), or build the ROM kernel with that key", envelope)
		}
		return err
	}
	if v := plan.Verdict; v != nil {
		logf("%s: %s", e.ID, v)
	}
	logf("loaded %s; starting it", e.ID)
	return nil
}

// consumeOneShot removes LoaderEntryOneShot once it chose the default, as
// systemd-boot does.
func consumeOneShot(c *bls.Config, logf func(string, ...any)) {
	if c.OneShot == "" {
		return
	}
	if v, ok := efiVars().(bls.EFIVarFS); ok {
		if err := v.Delete(bls.VarEntryOneShot); err != nil {
			logf("cannot remove %s: %v", bls.VarEntryOneShot, err)
		}
	}
}

func initrdFile(p *stub.Plan) *os.File {
	if p.Initrd == nil {
		return nil
	}
	return p.Initrd.File
}

type blobJSON struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type planJSON struct {
	Entry        string            `json:"entry"`
	Title        string            `json:"title"`
	Path         string            `json:"path"`
	Kernel       blobJSON          `json:"kernel"`
	Initrd       *blobJSON         `json:"initrd"`
	Cmdline      string            `json:"cmdline"`
	Verification map[string]string `json:"verification"`
	Pieces       []pieceJSON       `json:"initrd_pieces"`
	Measurements []measureJSON     `json:"measurements"`
	Notes        []string          `json:"notes"`
}

type pieceJSON struct {
	Description string `json:"description"`
	Offset      int64  `json:"offset"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

type measureJSON struct {
	PCR         int    `json:"pcr"`
	Description string `json:"description"`
	SHA256      string `json:"sha256"`
}

func toPlanJSON(p *stub.Plan) planJSON {
	j := planJSON{
		Entry: p.Entry.ID, Title: p.Entry.ShowTitle, Path: p.Entry.FullPath(),
		Kernel:  blobJSON{p.Kernel.Size, hex.EncodeToString(p.Kernel.SHA256[:])},
		Cmdline: p.Cmdline, Notes: p.Notes,
		Verification: verificationJSON(p.Verdict),
		Pieces:       []pieceJSON{}, Measurements: []measureJSON{},
	}
	if j.Notes == nil {
		j.Notes = []string{}
	}
	if p.Initrd != nil {
		j.Initrd = &blobJSON{p.Initrd.Size, hex.EncodeToString(p.Initrd.SHA256[:])}
	}
	for _, pc := range p.Pieces {
		j.Pieces = append(j.Pieces, pieceJSON{pc.Description, pc.Offset, pc.Size, hex.EncodeToString(pc.SHA256[:])})
	}
	for _, m := range p.Measurements {
		j.Measurements = append(j.Measurements, measureJSON{m.PCR, m.Description, hex.EncodeToString(m.SHA256[:])})
	}
	return j
}

func printPlan(w io.Writer, p *stub.Plan, asJSON bool) error {
	j := toPlanJSON(p)
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(j)
	}
	fmt.Fprintf(w, "entry:    %s (%s)\n", j.Entry, j.Title)
	fmt.Fprintf(w, "path:     %s\n", j.Path)
	fmt.Fprintf(w, "kernel:   %d bytes, sha256 %s\n", j.Kernel.Size, j.Kernel.SHA256)
	if j.Initrd != nil {
		fmt.Fprintf(w, "initrd:   %d bytes, sha256 %s\n", j.Initrd.Size, j.Initrd.SHA256)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, pc := range j.Pieces {
			fmt.Fprintf(tw, "  @%d\t%d bytes\t%s\n", pc.Offset, pc.Size, pc.Description)
		}
		tw.Flush()
	} else {
		fmt.Fprintf(w, "initrd:   none\n")
	}
	fmt.Fprintf(w, "cmdline:  %s\n", j.Cmdline)
	fmt.Fprintf(w, "verified: %s\n", j.Verification["verdict"])
	if len(j.Measurements) > 0 {
		fmt.Fprintf(w, "measurements:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, m := range j.Measurements {
			fmt.Fprintf(tw, "  PCR %d\t%s\t%s\n", m.PCR, m.SHA256, m.Description)
		}
		tw.Flush()
	}
	for _, n := range j.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	return nil
}

// extract writes the plan's kernel, initrd and cmdline into dir.
func extract(p *stub.Plan, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	put := func(name string, b *stub.Blob) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.NewSectionReader(b.File, 0, b.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := put("kernel", p.Kernel); err != nil {
		return err
	}
	if p.Initrd != nil {
		if err := put("initrd", p.Initrd); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, "initrd")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "cmdline"), []byte(p.Cmdline+"\n"), 0o644)
}

func verificationJSON(v *authenticode.Verdict) map[string]string {
	if v == nil {
		return map[string]string{"verdict": "unverified", "signer": "", "reason": "verification is off"}
	}
	return map[string]string{"verdict": string(v.Status), "signer": v.Signer, "anchor": v.Anchor, "reason": v.Reason}
}
