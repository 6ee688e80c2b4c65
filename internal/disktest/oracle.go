package disktest

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// SfdiskTable is the part of `sfdisk --json` output that tests compare,
// an oracle for partition tables independent of this module.
type SfdiskTable struct {
	PartitionTable struct {
		Label      string `json:"label"`
		ID         string `json:"id"`
		SectorSize int    `json:"sectorsize"`
		FirstLBA   int64  `json:"firstlba"`
		LastLBA    int64  `json:"lastlba"`
		Partitions []struct {
			Node  string `json:"node"`
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
			Type  string `json:"type"`
			UUID  string `json:"uuid"`
			Name  string `json:"name"`
			Attrs string `json:"attrs"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

// Sfdisk runs `sfdisk --json` (util-linux, Debian package fdisk) on an
// image with 512-byte sectors.
func Sfdisk(t testing.TB, img string) *SfdiskTable {
	t.Helper()
	sfdisk := ukitest.Need(t, "sfdisk")
	out, err := exec.Command(sfdisk, "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json %s: %v", img, err)
	}
	st := &SfdiskTable{}
	if err := json.Unmarshal(out, st); err != nil {
		t.Fatalf("sfdisk output: %v\n%s", err, out)
	}
	return st
}

// FdiskRow is one partition as `fdisk -l` prints it, in sectors.
type FdiskRow struct {
	Start, Sectors int64
	Type, UUID     string
	Name           string
}

// Fdisk4K lists a GPT with 4096-byte sectors with `fdisk -l -b 4096`
// (package fdisk), which unlike sfdisk can be told the sector size of an
// image file. Partition names must not contain spaces. It fails the test
// when fdisk does not see a GPT.
func Fdisk4K(t testing.TB, img string) []FdiskRow {
	t.Helper()
	fdisk := ukitest.Need(t, "fdisk")
	out, err := exec.Command(fdisk, "-l", "-b", "4096", "-o", "Device,Start,Sectors,Type-UUID,UUID,Name", img).CombinedOutput()
	if err != nil {
		t.Fatalf("fdisk -l: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Disklabel type: gpt") {
		t.Fatalf("fdisk does not see a GPT:\n%s", out)
	}
	var rows []FdiskRow
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[0], img) {
			continue
		}
		start, err1 := strconv.ParseInt(f[1], 10, 64)
		n, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("fdisk line %q", line)
		}
		r := FdiskRow{Start: start, Sectors: n, Type: strings.ToLower(f[3]), UUID: strings.ToLower(f[4])}
		if len(f) > 5 {
			r.Name = f[5]
		}
		rows = append(rows, r)
	}
	return rows
}

// SgdiskVerify runs `sgdisk -v` (Debian package gdisk), which checks both
// GPT headers, their CRCs and the entry arrays, and fails the test unless
// it finds no problems.
func SgdiskVerify(t testing.TB, img string) {
	t.Helper()
	sgdisk := ukitest.Need(t, "sgdisk")
	out, err := exec.Command(sgdisk, "-v", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No problems found") {
		t.Fatalf("sgdisk -v %s: %v\n%s", img, err, out)
	}
}
