package disk

import (
	"fmt"
	"strings"
)

// NotFoundError is [Scanner.WaitScan]'s error when its context ends before
// partitions of every wanted kind were found. Its message lists the block
// devices seen and why each was not used.
type NotFoundError struct {
	// Missing are the kinds that were not found.
	Missing []Kind
	// Devices are the whole disks of the last scan.
	Devices []Device
	// Err is the context's error.
	Err error
}

func (e *NotFoundError) Error() string {
	kinds := make([]string, len(e.Missing))
	for i, k := range e.Missing {
		kinds[i] = string(k)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no %s partition found; ", strings.Join(kinds, " or "))
	var empty []string
	var lines []string
	for _, d := range e.Devices {
		if d.Size == 0 {
			empty = append(empty, d.Name)
			continue
		}
		lines = append(lines, fmt.Sprintf("%s (%s): %s", d.Name, formatSize(d.Size), d.describe()))
	}
	if len(empty) > 0 {
		lines = append(lines, "empty, not read: "+strings.Join(empty, ", "))
	}
	if len(lines) == 0 {
		b.WriteString("no block devices seen")
		return b.String()
	}
	b.WriteString("block devices seen:")
	for _, l := range lines {
		b.WriteString("\n  " + l)
	}
	return b.String()
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// describe says what d holds, or why it could not be read.
func (d *Device) describe() string {
	switch {
	case d.Err != nil:
		return "unreadable: " + d.Err.Error()
	case d.Table == nil:
		msg := "no partition table"
		if d.NoTable != nil {
			if _, why, ok := strings.Cut(d.NoTable.Error(), ErrNoTable.Error()+": "); ok {
				msg += " (" + why + ")"
			}
		}
		return msg
	}
	t := d.Table
	s := fmt.Sprintf("%s, %d partitions", t.Scheme, len(t.Partitions))
	if len(t.Partitions) == 1 {
		s = fmt.Sprintf("%s, 1 partition", t.Scheme)
	}
	var found []string
	for _, p := range t.Boot() {
		found = append(found, fmt.Sprintf("%s: partition %d", p.Kind, p.Number))
	}
	if len(found) > 0 {
		return s + ", " + strings.Join(found, ", ")
	}
	if t.Scheme == SchemeMBR {
		return s + ", none of type 0xef (ESP) or 0xea (XBOOTLDR)"
	}
	return s + ", none with the ESP or XBOOTLDR type GUID"
}

// formatSize writes n bytes in binary units, "512 B", "16 MiB", "1.5 GiB",
// or "size unknown" when n is negative.
func formatSize(n int64) string {
	if n < 0 {
		return "size unknown"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	suffix := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[i]
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
