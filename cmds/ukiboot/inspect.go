package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

type inspectOutput struct {
	File string `json:"file"`
	*uki.Info
	Verification map[string]string `json:"verification"`
	DTBAuto      []dtbautoInfo     `json:"dtbauto,omitempty"`
	PCR11Rule    string            `json:"pcr11_rule,omitempty"`
}

// dtbautoInfo is the .dtbauto systemd-stub would choose for a profile on
// this machine (stub.ChooseDTBAuto).
type dtbautoInfo struct {
	Profile int `json:"profile"`
	// Section is the index of the chosen section; -1 for none.
	Section int `json:"section"`
	// Known is false when ukiboot cannot tell what the stub would choose:
	// PCR 11 then cannot match ukify's signed predictions.
	Known bool   `json:"known"`
	Why   string `json:"why"`
}

// dtbautoChoices says, for each profile with .dtbauto sections, which one
// systemd-stub would choose on the machine hw describes.
func dtbautoChoices(f *uki.File, hw stub.Hardware) []dtbautoInfo {
	var out []dtbautoInfo
	for _, p := range f.Profiles() {
		if !stub.HasDTBAuto(p) {
			continue
		}
		c := stub.ChooseDTBAuto(p, hw)
		d := dtbautoInfo{Profile: p.Number, Section: -1, Known: c.Known, Why: c.Why}
		if c.Section != nil {
			d.Section = c.Section.Index
		}
		out = append(out, d)
	}
	return out
}

// printDTBAuto prints dtbautoChoices for people.
func printDTBAuto(w io.Writer, ds []dtbautoInfo) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintf(w, "\ndtbauto (as systemd-stub would choose on this machine):\n")
	for _, d := range ds {
		switch {
		case d.Section >= 0:
			fmt.Fprintf(w, "  @%d  section %d: %s; measured into PCR 11, not handed on (%s)\n", d.Profile, d.Section, d.Why, stub.DTBNotHandedOn())
		case d.Known:
			fmt.Fprintf(w, "  @%d  none: %s\n", d.Profile, d.Why)
		default:
			fmt.Fprintf(w, "  @%d  cannot tell: %s; PCR 11 cannot match ukify's signed predictions for this UKI\n", d.Profile, d.Why)
		}
	}
}

// inspect describes the UKI or addon at path, refused before it is read
// when it is larger than maxSize. .dtbauto sections are matched against
// the devicetree and SMBIOS of root (the file system at "/"; nil: none).
func inspect(w io.Writer, path string, pol stub.Verification, maxSize int64, asJSON bool, root fs.FS) error {
	fd, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &uki.FormatError{File: path, Err: uki.ErrNotPE, Detail: "not a regular file"}
	}
	if err := stub.CheckSize(path, st.Size(), maxSize); err != nil {
		return err
	}
	f, err := uki.Read(fd, st.Size(), path, uki.KindAuto)
	if err != nil {
		return err
	}
	info, err := f.Describe()
	if err != nil {
		return err
	}
	hw := stub.ReadHardware(root)
	var verdict *authenticode.Verdict
	if pol.Mode != stub.VerifyOff {
		verdict = authenticode.VerifyFile(f, f.ReaderAt(), pol.Store)
	}
	if asJSON {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(inspectOutput{File: path, Info: info, Verification: verificationJSON(verdict), DTBAuto: dtbautoChoices(f, hw), PCR11Rule: pcr11Rule(f)})
	}
	printInfo(w, path, info)
	if r := pcr11Rule(f); r != "" {
		fmt.Fprintf(w, "pcr 11:     %s\n", r)
	}
	printDTBAuto(w, dtbautoChoices(f, hw))
	if verdict != nil {
		fmt.Fprintf(w, "\nverdict:    %s\n", verdict)
		for _, s := range verdict.Signatures {
			if s.Err != nil {
				fmt.Fprintf(w, "  signature %d (%s): %v\n", s.Index+1, s.Signer, s.Err)
			} else {
				fmt.Fprintf(w, "  signature %d (%s): ok\n", s.Index+1, s.Signer)
			}
		}
	}
	return nil
}

func printInfo(w io.Writer, path string, in *uki.Info) {
	fmt.Fprintf(w, "file:       %s\n", path)
	fmt.Fprintf(w, "kind:       %s\n", in.Kind)
	fmt.Fprintf(w, "machine:    %s\n", in.Machine)
	fmt.Fprintf(w, "size:       %d bytes\n", in.Size)
	if in.Stub != "" {
		fmt.Fprintf(w, "stub:       %s\n", in.Stub)
	}
	if in.Uname != "" {
		fmt.Fprintf(w, "uname:      %s\n", in.Uname)
	}
	if in.Cmdline != "" {
		fmt.Fprintf(w, "cmdline:    %s\n", in.Cmdline)
	}
	fmt.Fprintf(w, "signatures: %d\n", in.Signatures)
	for _, c := range in.Certificates {
		fmt.Fprintf(w, "  %s at offset %d, %d bytes\n", c.Type, c.Offset, c.Length)
	}

	fmt.Fprintf(w, "\nsections:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  IDX\tNAME\tFILE OFFSET\tVIRTUAL SIZE\tRAW SIZE\tVIRTUAL ADDR\tPROFILE\n")
	for _, s := range in.Sections {
		prof := "base"
		if s.Profile >= 0 {
			prof = fmt.Sprint(s.Profile)
		}
		fmt.Fprintf(tw, "  %d\t%s\t0x%08x\t0x%08x\t0x%08x\t0x%08x\t%s\n", s.Index, s.Name, s.Offset, s.VirtualSize, s.RawSize, s.VirtualAddress, prof)
	}
	tw.Flush()

	if len(in.Profiles) > 1 || in.Profiles[0].ID != "" || in.Profiles[0].Title != "" {
		fmt.Fprintf(w, "\nprofiles:\n")
		for _, p := range in.Profiles {
			fmt.Fprintf(w, "  @%d  id=%s title=%q\n", p.Number, p.ID, p.Title)
			fmt.Fprintf(w, "       sections: %s\n", strings.Join(p.Sections, " "))
			if p.Cmdline != "" {
				fmt.Fprintf(w, "       cmdline: %s\n", p.Cmdline)
			}
		}
	}
	if len(in.Notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n")
		for _, n := range in.Notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(in.OSReleaseFields) > 0 {
		fmt.Fprintf(w, "\nos-release:\n")
		for _, f := range in.OSReleaseFields {
			fmt.Fprintf(w, "  %s=%q\n", f.Key, f.Value)
		}
	}
}

// pcr11Rule says which stub's PCR 11 rules ukiboot follows for a UKI.
func pcr11Rule(f *uki.File) string {
	if f.Kind != uki.KindUKI {
		return ""
	}
	return stub.PCR11RuleFor(f.StubVersion()).String()
}
