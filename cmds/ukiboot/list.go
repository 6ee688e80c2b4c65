package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// entryJSON is the stable JSON form of an entry (field names are a
// contract: see DESIGN.md).
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
	Verdict       string   `json:"verdict,omitempty"`
	Signer        string   `json:"signer,omitempty"`
}

func toJSON(c *bls.Config, i int, verdicts map[*bls.Entry]*authenticode.Verdict) entryJSON {
	e := c.Entries[i]
	j := entryJSON{
		ID: e.ID, Type: e.Type.String(), Title: e.Title, ShowTitle: e.ShowTitle, Version: e.Version,
		SortKey: e.SortKey, MachineID: e.MachineID, Path: e.FullPath(), Profile: e.Profile,
		Cmdline: e.Cmdline, Status: string(e.Status), Linux: e.Linux, Initrd: e.Initrd,
	}
	if e.UKI != "" && e.Partition != nil {
		j.UKI = strings.TrimSuffix(e.Partition.Path, "/") + e.UKI
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
	if e.Err != nil {
		j.Error = e.Err.Error()
	}
	if v := verdicts[e]; v != nil {
		j.Verdict, j.Signer = string(v.Status), v.Signer
	}
	return j
}

func printList(w io.Writer, c *bls.Config, verdicts map[*bls.Entry]*authenticode.Verdict, asJSON bool) error {
	if asJSON {
		out := make([]entryJSON, 0, len(c.Entries))
		for i := range c.Entries {
			out = append(out, toJSON(c, i, verdicts))
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	if len(c.Entries) == 0 {
		fmt.Fprintln(w, "no boot entries found")
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
		status := string(e.Status)
		if v := verdicts[e]; v != nil && v.Status == authenticode.Trusted {
			status += " (signed by " + v.Signer + ")"
		}
		if e.Bad() {
			status += " (no tries left)"
		}
		fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%s\t%s\n", mark, i+1, e.ID, e.ShowTitle, e.Version, tries, status)
	}
	tw.Flush()
	for _, e := range c.Entries {
		if e.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", e.ID, e.Err)
		}
	}
	if c.Default >= 0 {
		fmt.Fprintf(w, "default: %s (chosen by %s)\n", c.Entries[c.Default].ID, c.DefaultSource)
	} else {
		fmt.Fprintln(w, "default: none (no entry can boot)")
	}
	if t := c.Loader.Timeout; t.Kind != bls.TimeoutUnset {
		fmt.Fprintf(w, "timeout: %s (%s)\n", t, c.Loader.Path)
	}
	return nil
}
