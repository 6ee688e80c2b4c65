package disk

import "fmt"

// BootDisk is one ESP and the partitions systemd-boot, started from it,
// would read: the first XBOOTLDR partition of the same disk.
type BootDisk struct {
	// Disk is the disk's name under DevDir ("vda", "nvme0n1").
	Disk string
	// ESP is the EFI System Partition; loader.conf is read from it only.
	ESP Partition
	// XBOOTLDR is the disk's XBOOTLDR partition with the lowest number,
	// nil when the disk has none.
	XBOOTLDR *Partition
}

// Partitions returns the ESP and then the XBOOTLDR, if any.
func (b BootDisk) Partitions() []Partition {
	if b.XBOOTLDR == nil {
		return []Partition{b.ESP}
	}
	return []Partition{b.ESP, *b.XBOOTLDR}
}

// Ignored is a boot partition that a BootDisk does not use, and why.
type Ignored struct {
	Partition Partition
	Why       string
}

// BootDisks returns one BootDisk for each ESP the scan found, in the order
// of Devices (hardware order, see [Scanner.Scan]) and, on a disk with
// several ESPs, by partition number.
//
// It follows systemd-boot's partition_open (src/boot/part-discovery.c):
// started from an ESP, systemd-boot reads the partition table of the
// ESP's own disk and uses the first entry with the XBOOTLDR type; an
// XBOOTLDR on another disk, and a disk's other XBOOTLDRs, are never read.
// ignored lists those partitions, each with the reason, for every
// BootDisk alike: an XBOOTLDR on a disk without an ESP, and the second and
// later XBOOTLDRs of a disk.
func (r *ScanResult) BootDisks() (disks []BootDisk, ignored []Ignored) {
	byDisk := map[string][]Partition{}
	for _, p := range r.Partitions {
		byDisk[p.Disk] = append(byDisk[p.Disk], p)
	}
	seen := map[string]bool{}
	for _, p := range r.Partitions {
		if seen[p.Disk] {
			continue
		}
		seen[p.Disk] = true
		var esps []Partition
		var xbl *Partition
		for _, q := range byDisk[p.Disk] {
			switch {
			case q.Kind == ESP:
				esps = append(esps, q)
			case q.Kind == XBOOTLDR && xbl == nil:
				xbl = &q
			case q.Kind == XBOOTLDR:
				ignored = append(ignored, Ignored{q, fmt.Sprintf("XBOOTLDR partition %d of the disk is used, not this one", xbl.Number)})
			}
		}
		if len(esps) == 0 {
			if xbl != nil {
				ignored = append(ignored, Ignored{*xbl, "no ESP on this disk: an XBOOTLDR is only used with the ESP of its own disk"})
			}
			continue
		}
		for _, e := range esps {
			disks = append(disks, BootDisk{Disk: diskName(r, p.Disk), ESP: e, XBOOTLDR: xbl})
		}
	}
	return disks, ignored
}

// diskName returns the Device name of the disk whose node is node.
func diskName(r *ScanResult, node string) string {
	for _, d := range r.Devices {
		if d.Node == node {
			return d.Name
		}
	}
	return node
}
