package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/stub"
)

// entryJSON is the stable JSON form of an entry (field names are a
// contract: see -json in the README).
type entryJSON struct {
	ID            string   `json:"id"`
	Type          string   `json:"type"`
	Title         string   `json:"title"`
	ShowTitle     string   `json:"show_title"`
	Version       string   `json:"version"`
	SortKey       string   `json:"sort_key"`
	MachineID     string   `json:"machine_id"`
	Path          string   `json:"path"`
	UKI           string   `json:"uki,omitempty"`
	Linux         string   `json:"linux,omitempty"`
	Initrd        []string `json:"initrd,omitempty"`
	Profile       int      `json:"profile"`
	Cmdline       string   `json:"cmdline"`
	TriesLeft     *int     `json:"tries_left"`
	TriesDone     *int     `json:"tries_done"`
	Default       bool     `json:"default"`
	DefaultSource string   `json:"default_source,omitempty"`
	Status        string   `json:"status"`
	Error         string   `json:"error,omitempty"`
	// Warning is a problem that does not stop the boot: a -url UKI that
	// could not be listed.
	Warning string `json:"warning,omitempty"`
	// Hidden marks an entry systemd-boot does not list either (Error says
	// why); only -list -json -v prints them.
	Hidden  bool   `json:"hidden,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	Signer  string `json:"signer,omitempty"`
	// AutoOrder is the entry's place (from 1) in the order -auto tries;
	// 0 when -auto never tries it.
	AutoOrder int `json:"auto_order"`
	// Disk is the boot disk the entry was read from ("vda"); empty with
	// -root. Partition names its partition as the user knows it: "vda1
	// (ESP)", or the -root DIR.
	Disk      string `json:"disk,omitempty"`
	Partition string `json:"partition,omitempty"`
}

// listEntries runs -list: the entries in menu order, the default and the
// order -auto tries, from the same pipeline the other modes walk.
func listEntries(o *options, sys system, stdout, stderr io.Writer) int {
	p, logf := startPipeline(o, sys, stdout, stderr)
	if p == nil {
		return 1
	}
	defer p.close()
	if !o.json {
		fmt.Fprintf(stdout, "verification: %s (%s)\n", p.verify.Mode, p.why)
	}
	if o.verbose {
		printStoreSummary(stdout, stderr, p.verify, o.json)
	}
	if !o.json {
		fmt.Fprintln(stdout, p.parts.summary())
	}
	l := listing{config: p.config, parts: p.parts, checks: map[*bls.Entry]entryCheck{}, order: map[*bls.Entry]int{}}
	for _, e := range p.config.Entries {
		if o.verifyAll {
			l.checks[e] = p.check(e)
		} else {
			l.checks[e] = p.quickCheck(e)
		}
	}
	for i, e := range p.candidates() {
		l.order[e] = i + 1
		l.auto = append(l.auto, e.ID)
	}
	l.verbose = o.verbose
	if err := l.print(stdout, o.json); err != nil {
		logf("%v", err)
		return 1
	}
	if !o.json && !o.verifyAll && p.verify.Mode != stub.VerifyOff && len(p.config.Entries) > 0 {
		fmt.Fprintln(stdout, "signatures were not checked (a boot checks what it loads): add -verify-all to see the verdicts")
	}
	if len(p.config.Entries) == 0 {
		logf("%s", p.noEntries())
		return 1
	}
	return 0
}

// noEntries says where the scan looked when it found no entry: -list
// and the menu say it alike.
func (p *pipeline) noEntries() string {
	return fmt.Sprintf("no boot entries in %s: looked for %s/*.conf and %s/*.efi on each",
		strings.Join(p.parts.names, ", "), bls.EntriesDir, bls.Type2Dir)
}

// listing is what -list prints.
type listing struct {
	config *bls.Config
	parts  *partitions
	checks map[*bls.Entry]entryCheck
	// order is each entry's place in the order -auto tries (from 1).
	order map[*bls.Entry]int
	auto  []string
	// verbose: -v, which also prints the hidden entries.
	verbose bool
}

func (l *listing) toJSON(i int) entryJSON {
	c := l.config
	e := c.Entries[i]
	ch := l.checks[e]
	j := entryJSON{
		ID: e.ID, Type: e.Type.String(), Title: e.Title, ShowTitle: e.ShowTitle, Version: e.Version,
		SortKey: e.SortKey, MachineID: e.MachineID, Path: e.FullPath(), Profile: e.Profile,
		Cmdline: e.Cmdline, Status: ch.status, Linux: e.Linux, Initrd: e.Initrd, AutoOrder: l.order[e],
	}
	switch {
	case e.Network():
		j.UKI = e.UKI // the URL
	case e.UKI != "" && e.Root != nil:
		j.UKI = strings.TrimSuffix(e.Root.Path, "/") + e.UKI
	}
	if e.Warning != nil {
		j.Warning = e.Warning.Error()
	}
	if l.parts != nil && e.Root != nil {
		j.Disk, j.Partition = l.parts.disk, l.parts.name(e.Root.Path)
	}
	if e.TriesLeft >= 0 {
		j.TriesLeft = &e.TriesLeft
	}
	if e.TriesDone >= 0 {
		j.TriesDone = &e.TriesDone
	}
	if i == c.Default {
		j.Default, j.DefaultSource = true, c.DefaultSource
	}
	if ch.err != nil {
		j.Error = ch.err.Error()
	}
	if ch.unchecked {
		j.Verdict = "unchecked"
	}
	if v := ch.verdict; v != nil {
		j.Verdict, j.Signer = string(v.Status), v.Signer
	}
	return j
}

func (l *listing) print(w io.Writer, asJSON bool) error {
	c := l.config
	if asJSON {
		out := make([]entryJSON, 0, len(c.Entries))
		for i := range c.Entries {
			out = append(out, l.toJSON(i))
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		out = append(out, l.hiddenJSON()...)
		return e.Encode(out)
	}
	w = printableWriter{w}
	if len(c.Entries) == 0 {
		l.printHidden(w)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\tID\tTITLE\tVERSION\tTRIES\tSTATUS\n")
	for i, e := range c.Entries {
		mark := " "
		if i == c.Default {
			mark = "*"
		}
		tries := "-"
		if e.TriesLeft >= 0 {
			tries = fmt.Sprintf("%d left", e.TriesLeft)
			if e.TriesDone >= 0 {
				tries += fmt.Sprintf(", %d done", e.TriesDone)
			}
		}
		status := l.checks[e].status
		if l.checks[e].unchecked {
			status += " (signature unchecked)"
		}
		if v := l.checks[e].verdict; v != nil && v.Status == authenticode.Trusted {
			status += " (signed by " + v.Signer + ")"
		}
		if e.Bad() {
			status += " (no tries left)"
		}
		fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%s\t%s\n", mark, i+1, e.ID, e.ShowTitle, e.Version, tries, status)
	}
	tw.Flush()
	for _, e := range c.Entries {
		switch {
		case e.Origin != "":
			fmt.Fprintf(w, "%s: from %s\n", e.ID, e.Origin)
		case e.Network():
			fmt.Fprintf(w, "%s: uki-url %s\n", e.ID, e.UKI)
		}
		if e.Warning != nil {
			fmt.Fprintf(w, "%s: %v\n", e.ID, e.Warning)
		}
		if err := l.checks[e].err; err != nil {
			fmt.Fprintf(w, "%s: %v\n", e.ID, err)
		}
	}
	if c.Default >= 0 {
		fmt.Fprintf(w, "default: %s (chosen by %s)\n", c.Entries[c.Default].ID, c.DefaultSource)
	} else {
		fmt.Fprintln(w, "default: none (no entry can boot)")
	}
	if len(l.auto) > 0 {
		fmt.Fprintf(w, "-auto tries: %s\n", strings.Join(l.auto, ", "))
	}
	// The menu's timeout as the menu works it out without -timeout:
	// loader.conf, or the LoaderConfigTimeout variables that replace it.
	if t := c.Vars.Timeout; t.Timeout.Kind != bls.TimeoutUnset {
		forced := ""
		if t.OneShot {
			forced = ", menu forced"
		}
		fmt.Fprintf(w, "timeout: %s (%s%s)\n", t.Timeout, t.Source, forced)
	}
	l.printHidden(w)
	return nil
}

// printHidden prints the entries systemd-boot does not list (bls.Config's
// Hidden) with the reason under -v, else only how many there are.
func (l *listing) printHidden(w io.Writer) {
	hidden := l.config.Hidden
	switch {
	case len(hidden) == 0:
	case !l.verbose:
		what := fmt.Sprintf("%d entries", len(hidden))
		if len(hidden) == 1 {
			what = "1 entry"
		}
		fmt.Fprintf(w, "hidden: %s that systemd-boot does not list either: add -v to see why\n", what)
	default:
		fmt.Fprintln(w, "hidden (systemd-boot does not list these either; never booted):")
		for _, e := range hidden {
			fmt.Fprintf(w, "  %s: %v\n", e.ID, e.Err)
		}
	}
}

// hiddenJSON is the hidden entries for -list -json -v; nil without -v.
func (l *listing) hiddenJSON() []entryJSON {
	if !l.verbose {
		return nil
	}
	var out []entryJSON
	for _, e := range l.config.Hidden {
		j := entryJSON{ID: e.ID, Type: e.Type.String(), Title: e.Title, Version: e.Version, SortKey: e.SortKey,
			MachineID: e.MachineID, Path: e.FullPath(), Profile: e.Profile, Cmdline: e.Cmdline,
			Status: string(bls.StatusHidden), Hidden: true}
		if e.Err != nil {
			j.Error = e.Err.Error()
		}
		out = append(out, j)
	}
	return out
}
