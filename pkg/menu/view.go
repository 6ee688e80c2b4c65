package menu

import "fmt"

// line is one row of a frame.
type line struct {
	text    string
	reverse bool // the highlighted entry
}

// frame is what one screen shows: at most as many lines as the terminal
// has rows, none wider than its columns less one (a character in the last
// column makes some terminals wrap).
type frame struct {
	lines []line
	// cursor: the editor is open and the cursor belongs at the end of
	// the last line.
	cursor bool
}

func (f *frame) add(texts ...string) {
	for _, t := range texts {
		f.lines = append(f.lines, line{text: t})
	}
}

// View returns the screen as lines of plain text, at most Config.Height
// of them, none wider than Config.Width-1: no escape sequences, so it
// reads the same on a serial console and on a VGA console. Screen draws
// it.
func (m *Model) View() []string {
	f := m.frame(m.cfg.Height, m.cfg.Width)
	out := make([]string, len(f.lines))
	for i, l := range f.lines {
		out[i] = l.text
	}
	return out
}

// frame lays the state out on a rows x cols terminal.
func (m *Model) frame(rows, cols int) frame {
	rows, cols = max(rows, 10), max(cols, 20)
	var f frame
	switch {
	case m.details && m.current() != nil: // a Reload may have emptied the list
		f = m.detailsFrame(rows, cols-1)
	case m.editing:
		f = m.editorFrame(rows, cols-1)
	default:
		f = m.menuFrame(rows, cols-1)
	}
	for i := range f.lines {
		f.lines[i].text = sanitize(f.lines[i].text)
	}
	return f
}

func (m *Model) editorFrame(rows, w int) frame {
	f := frame{cursor: true}
	f.add("", clip("Edit the command line, Enter boots, Esc cancels:", w))
	text := chop("> "+string(m.edit), w)
	f.add(text[max(len(text)-(rows-2), 0):]...) // the end, where the typing is
	return f
}

func (m *Model) detailsFrame(rows, w int) frame {
	it := m.current()
	var f frame
	f.add("", clip(fmt.Sprintf("%s  %s", it.ID, it.Title), w))
	if it.Version != "" {
		f.add(wrap("  version: "+it.Version, w, "    ")...)
	}
	f.add(wrap("  cmdline: "+it.Cmdline, w, "    ")...)
	for _, d := range it.Details {
		f.add(wrap("  "+d, w, "    ")...)
	}
	if !it.Bootable {
		f.add(wrap("  cannot boot: "+it.Reason, w, "    ")...)
	}
	if len(f.lines) > rows-2 {
		f.lines = f.lines[:rows-3]
		f.add("  ...")
	}
	f.add("", "(any key returns to the menu)")
	return f
}

// status is the text under the list: the message, else why the
// highlighted entry cannot boot.
func (m *Model) status() string {
	if m.message != "" {
		return "! " + m.message
	}
	it := m.current()
	switch {
	case it == nil || it.Reason == "":
		return ""
	case !it.Bootable:
		return "! cannot boot: " + it.Reason
	}
	return "  " + it.Reason
}

func (m *Model) menuFrame(rows, w int) frame {
	var f frame
	f.add("", "ukiboot: boot menu")
	more := "r rescan, "
	if m.cfg.Shell {
		more += "s shell, "
	}
	foot := []string{clip("Up/Down/j/k/1-9 select, Enter boot, e edit, d default, p details", w), clip(more+"b reboot, o power off", w)}
	if m.counting {
		foot = append(foot, clip(m.countdown(), w))
	}
	var status []string
	if s := m.status(); s != "" {
		status = wrap(s, w, "  ")
	}
	// The list keeps at least three rows (and two for "more above" and
	// "more below"); a status too long for the rest is cut.
	switch keep := rows - len(f.lines) - len(foot) - 5; {
	case len(status) <= keep:
	case keep <= 0:
		status = nil
	default:
		status = append(status[:keep-1], "  ...")
	}
	n := len(m.cfg.Items)
	avail := rows - len(f.lines) - len(foot) - len(status)
	if n == 0 {
		f.add("  (no boot entries found)")
	}
	top, vis := 0, n
	if n > avail {
		vis = max(avail-2, 1)
		top = min(max(m.top, m.sel-vis+1, 0), m.sel, n-vis)
		if top > 0 {
			f.add(fmt.Sprintf("  ... %d more above", top))
		}
	}
	for i := top; i < top+vis; i++ {
		f.lines = append(f.lines, line{text: m.itemLine(i, w), reverse: i == m.sel})
	}
	if top+vis < n {
		f.add(fmt.Sprintf("  ... %d more below", n-top-vis))
	}
	f.add(status...)
	f.add(foot...)
	return f
}

// itemLine is entry i in the list, cut to w columns but keeping its tag.
func (m *Model) itemLine(i, w int) string {
	it := m.cfg.Items[i]
	mark, def := " ", " "
	if i == m.sel {
		mark = ">"
	}
	if i == m.cfg.Default {
		def = "*"
	}
	tag := it.Tag
	if tag == "" && !it.Bootable {
		tag = "cannot boot"
	}
	if tag != "" {
		tag = clip("  ["+tag+"]", w/2)
	}
	return clip(fmt.Sprintf("%s%s%2d %s", mark, def, i+1, it.Title), w-width(tag)) + tag
}

// Countdown is the countdown line, as the menu shows it.
func (m *Model) Countdown() string { return sanitize(clip(m.countdown(), m.cfg.Width-1)) }

func (m *Model) countdown() string {
	if !m.counting || m.cfg.Default < 0 {
		return ""
	}
	return fmt.Sprintf("Booting %s in %ds; press any key to stop.", m.cfg.Items[m.cfg.Default].ID, m.remaining)
}
