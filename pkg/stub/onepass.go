package stub

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/ukiboot/ukiboot/internal/fanout"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/measure"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// The one pass reads a UKI once, from its first byte to its last, and
// hands each chunk at the same time (internal/fanout, one goroutine per
// consumer) to the Authenticode hashers, to one hasher per PCR bank for
// each of .linux, .ucode and .initrd, and to a copy that puts .linux in
// the kernel's memfd, .ucode and .initrd at their final offsets in the
// initrd's memfd, and everything else (headers, small sections, the
// certificate table) in memory. The digests and the kept bytes come from
// the same chunk; digest ranges that go back in the file (gaps) are
// hashed again from the private copy. Nothing UKI-sized is kept besides
// the kernel and the initrd, and the hashes use all cores.
//
// The headers are read from the file first to plan where the bytes go;
// after the pass every byte that read gave is compared with the private
// copy, which is parsed again: only the copy decides anything. When that
// pre-read already says Untrusted (a layout or certificate table that
// cannot be checked), enforce refuses the UKI before reading further;
// otherwise the pass runs without Authenticode hashers and returns that
// verdict.
//
// copyPE (a private copy of the whole file, then reads from it) reads
// addons, and the UKIs planPass refuses: several .linux, .ucode or
// .initrd sections, sections whose memory overlaps, a zero fill over
// maxPassZeroTail in a section the pass routes to a memfd (it would be
// hashed before Verify), more than maxKeptBytes outside those sections.
// For those UKIs it too compares what the pre-read gave with its copy.
//
// A File that is a Streamer (a UKI served over the network) gives the
// bytes of the one pass or of the copy from one Stream: the pre-read's
// ReadAt calls and that stream are separate requests, and the comparison
// refuses a server that serves them different bytes.
//
// After a one pass the initrd is built a second time, from the private
// copy (initrdStart), when the memfd the pass filled is not the initrd's
// start: an addon has .ucode (it goes first), .ucode comes after .initrd
// in the file (the pass keeps it in memory), the UKI's stub does not
// measure .ucode (it is left out), or .ucode or .initrd has no file data
// (only a zero fill).

// passMode says how a UKI is read; tests force one to compare them.
type passMode int

const (
	passAuto passMode = iota // the one pass when the layout allows it
	passCopy                 // always copyPE
)

// maxKeptBytes bounds what the one pass keeps in memory.
const maxKeptBytes = 64 << 20

// image is the private copy of a UKI that its plan is built from.
type image struct {
	blob *Blob // copyPE's whole-file copy; nil after a one pass
	// The one pass's kernel (sealed) and initrd start (.ucode and
	// .initrd at their offsets), until the plan takes them.
	kernelW       *blobWriter // while the pass fills it
	kernel        *Blob
	kernelSec     *uki.Section
	initrd        *blobWriter
	initrdSecs    []*uki.Section
	initrdOffsets []int64
	// digests are the one pass's digests of sections (every bank and
	// SHA-256), keyed by the sections of the private copy.
	digests map[*uki.Section]measure.Digests
}

// Close frees what the plan did not take.
func (im *image) Close() {
	if im == nil {
		return
	}
	im.blob.Close()
	if im.kernelW != nil {
		im.kernelW.abort()
	}
	im.kernel.Close()
	if im.initrd != nil {
		im.initrd.abort()
	}
}

// takeKernel hands over the kernel memfd if it holds s.
func (im *image) takeKernel(s *uki.Section) *Blob {
	if im == nil || im.kernel == nil || im.kernelSec != s {
		return nil
	}
	k := im.kernel
	im.kernel = nil
	return k
}

// takeInitrd hands over the initrd memfd if it holds exactly secs, in
// that order, and nothing else.
func (im *image) takeInitrd(secs []*uki.Section) *blobWriter {
	if im == nil || im.initrd == nil || !slices.Equal(im.initrdSecs, secs) {
		return nil
	}
	w := im.initrd
	im.initrd = nil
	return w
}

// Which path read a UKI, as openUKI records it in Policy.ran (tests).
const (
	ranOnePass = "one pass"
	ranCopy    = "copy"
	ranRefused = "refused early"
)

// openUKI reads the UKI name into private memory and returns the
// verdict on that copy (nil when verification is off). Under enforce, a
// UKI whose layout or signature table already says Untrusted is not
// read further.
func (b *builder) openUKI(name string) (*image, *uki.File, *authenticode.Verdict, error) {
	pf, err := b.openRegular(name)
	if err != nil {
		return nil, nil, nil, err
	}
	defer pf.f.Close()
	var pre *headers
	if b.pol.pass == passAuto {
		rec := &recorder{r: pf.f}
		if pre, err = b.preRead(rec, pf.size, pf.full, uki.KindUKI); err != nil {
			return nil, nil, nil, err
		}
		pre.rec = rec
		if pre.verdict != nil && b.pol.enforce() {
			b.ran(ranRefused)
			return &image{}, pre.hdr, pre.verdict, nil // refused before anything is read
		}
		if pp, ok := planPass(pre.hdr); ok {
			b.ran(ranOnePass)
			return b.onePass(pf, rec, pp, pre)
		}
	}
	b.ran(ranCopy)
	blob, u, verdict, err := b.copyPE(name, pf, uki.KindUKI, pre)
	if err != nil {
		return nil, nil, nil, err
	}
	return &image{blob: blob}, u, verdict, nil
}

// ran records which path read the UKI, for tests.
func (b *builder) ran(path string) {
	if b.pol.ran != nil {
		*b.pol.ran = path
	}
}

// passPlan is where the one pass puts the bytes of the file.
type passPlan struct {
	size    int64
	linux   *uki.Section   // to the kernel's memfd
	initrd  []*uki.Section // to the initrd's memfd, in initrd order
	offsets []int64        // their offsets there
	end     int64          // the initrd's size so far (padded)
}

// planPass says whether hdr, read from the file, can be read in one pass
// and where its bytes go.
func planPass(hdr *uki.File) (*passPlan, bool) {
	if hdr.Kind != uki.KindUKI || len(hdr.Overlaps) > 0 {
		return nil, false
	}
	named := map[string][]*uki.Section{}
	for _, s := range hdr.Sections {
		named[s.Name] = append(named[s.Name], s)
	}
	if len(named[uki.SectionLinux]) != 1 || len(named[uki.SectionUcode]) > 1 || len(named[uki.SectionInitrd]) > 1 {
		return nil, false
	}
	p := &passPlan{size: hdr.Size}
	var routed int64
	if s := named[uki.SectionLinux][0]; s.FileSize() > 0 {
		p.linux = s
		routed += s.FileSize()
	}
	ucode, initrd := first(named[uki.SectionUcode]), first(named[uki.SectionInitrd])
	if ucode != nil && initrd != nil && initrd.FileSize() > 0 && ucode.PointerToRawData > initrd.PointerToRawData {
		ucode = nil // the initrd is hashed as it streams, so in file order: .ucode stays in memory
	}
	for _, s := range []*uki.Section{ucode, initrd} {
		if s == nil || s.FileSize() == 0 {
			continue
		}
		p.initrd = append(p.initrd, s)
		p.offsets = append(p.offsets, p.end)
		p.end = align4(p.end + s.Size())
		routed += s.FileSize()
	}
	for _, s := range append([]*uki.Section{p.linux}, p.initrd...) {
		if s != nil && s.Size()-s.FileSize() > maxPassZeroTail {
			return nil, false // hashed before Verify: leave it to the copy, which verifies first
		}
	}
	if hdr.Size-routed > maxKeptBytes {
		return nil, false
	}
	return p, true
}

func first(s []*uki.Section) *uki.Section {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func align4(n int64) int64 { return (n + 3) &^ 3 }

// onePass reads pf once as pp says, then parses the private copy and
// checks it against what the pre-read (rec, pre) saw. When the pre-read
// gave a verdict (the layout or the signature table cannot be checked),
// nothing is hashed for Authenticode and that verdict is returned, as
// copyPE does.
func (b *builder) onePass(pf *peFile, rec *recorder, pp *passPlan, pre *headers) (*image, *uki.File, *authenticode.Verdict, error) {
	layout := pre.layout
	im := &image{}
	done := false
	defer func() {
		if !done {
			im.Close()
		}
	}()
	kept, err := newKeptFile(pp, im)
	if err != nil {
		return nil, nil, nil, err
	}
	var auth []*authenticode.Hasher
	if layout != nil {
		auth = authHashers(layout, pre.algs)
	}
	secs := newSectionHashers(pp, b.hashBanks())
	whole := wholeInitrdHasher(pp)
	ws := append(writers(auth), kept)
	ws = append(ws, secs.writers()...)
	if whole != nil {
		ws = append(ws, whole)
	}
	if err := readOnce(pf, ws); err != nil {
		return nil, nil, nil, err
	}
	u, err := uki.Read(kept, pf.size, pf.full, uki.KindUKI)
	if err != nil {
		return nil, nil, nil, err
	}
	if !rec.sameAs(kept) || !sameLayout(u, layout) {
		return nil, nil, nil, fmt.Errorf("%s changed while it was read", pf.full)
	}
	if err := b.finishPass(im, u, pp, secs, whole); err != nil {
		return nil, nil, nil, err
	}
	verdict := pre.verdict
	if auth != nil {
		d, err := authDigests(auth, kept)
		if err != nil {
			return nil, nil, nil, err
		}
		verdict = authenticode.Verify(u, d, b.pol.Verify.Store)
	}
	done = true
	return im, u, verdict, nil
}

// sameLayout says whether the private copy u has the layout the file's
// headers had (nil: not verifying).
func sameLayout(u *uki.File, l *authenticode.Layout) bool {
	if l == nil {
		return true
	}
	l2, err := authenticode.LayoutOf(u)
	return err == nil && slices.Equal(l2.Ranges, l.Ranges) && l2.CertStart == l.CertStart && l2.CertEnd == l.CertEnd
}

// readOnce streams the file's size bytes to ws.
func readOnce(pf *peFile, ws []io.Writer) error {
	src, done, err := pf.stream()
	if err != nil {
		return err
	}
	defer done()
	fw := fanout.New(ws...)
	n, err := fw.ReadFrom(src)
	if err != nil {
		fw.Abort(err)
		return fmt.Errorf("reading %s: %w", pf.full, err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("reading %s: %w", pf.full, err)
	}
	if n != pf.size {
		return fmt.Errorf("%s changed while it was read: %d of %d bytes", pf.full, n, pf.size)
	}
	return nil
}

// finishPass seals the kernel, readies the initrd for more pieces and
// records the sections' digests, keyed by the private copy's sections
// (the same table: the recorder compared it).
func (b *builder) finishPass(im *image, u *uki.File, pp *passPlan, secs *sectionHashers, whole *streamHash) error {
	im.digests = map[*uki.Section]measure.Digests{}
	for i, s := range secs.secs {
		d, err := secs.sum(i)
		if err != nil {
			return err
		}
		im.digests[u.Sections[s.Index]] = d
	}
	if pp.linux != nil {
		own := u.Sections[pp.linux.Index]
		k, err := im.kernelW.seal()
		im.kernelW = nil
		if err != nil {
			return err
		}
		copy(k.SHA256[:], im.digests[own][measure.SHA256])
		im.kernel, im.kernelSec = k, own
	}
	if len(pp.initrd) == 0 {
		return nil
	}
	h, err := initrdState(pp, secs, whole)
	if err != nil {
		return err
	}
	if _, err := im.initrd.f.Seek(pp.end, io.SeekStart); err != nil {
		return err
	}
	im.initrd.h, im.initrd.size = h, pp.end
	for _, s := range pp.initrd {
		im.initrdSecs = append(im.initrdSecs, u.Sections[s.Index])
	}
	im.initrdOffsets = pp.offsets
	return nil
}

// initrdState is the SHA-256 state of the initrd's first pp.end bytes:
// with one piece, its section's SHA-256 continued with the padding (the
// pass is over and finishPass took its digest already: nothing else
// writes or reads that hash); else the whole-initrd hasher that ran in
// the pass.
func initrdState(pp *passPlan, secs *sectionHashers, whole *streamHash) (hashWriter, error) {
	if whole != nil {
		if err := whole.finish(); err != nil {
			return nil, err
		}
		return whole.h, nil
	}
	h := secs.sha256Of(pp.initrd[0])
	writeZeros(h, pp.end-pp.initrd[0].Size())
	return h, nil
}

// recorder is the file as the pre-read saw it: every read is kept, to
// be compared with the private copy.
type recorder struct {
	r     io.ReaderAt
	reads []recorded
}

type recorded struct {
	off  int64
	data []byte
}

func (r *recorder) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	r.reads = append(r.reads, recorded{off, bytes.Clone(p[:n])})
	return n, err
}

// sameAs says whether c holds the bytes every read gave.
func (r *recorder) sameAs(c io.ReaderAt) bool {
	for _, rd := range r.reads {
		buf := make([]byte, len(rd.data))
		if n, _ := c.ReadAt(buf, rd.off); n != len(buf) || !bytes.Equal(buf, rd.data) {
			return false
		}
	}
	return true
}

// extent is a range of the file kept in memory or in a memfd.
type extent struct {
	start, end int64
	mem        []byte   // kept in memory, or
	f          *os.File // in this memfd at at
	at         int64
}

// keptFile is the private copy of a one pass: the file's bytes, each in
// exactly one extent. It is the io.Writer of the pass (it tracks its
// offset in the stream) and the io.ReaderAt the copy is parsed from.
type keptFile struct {
	size int64
	ext  []extent // in file order, covering [0, size)
	off  int64    // stream offset
	cur  int      // extent of off
}

// newKeptFile makes the memfds and buffers of pp and gives the memfds to
// im (which closes them on error).
func newKeptFile(pp *passPlan, im *image) (*keptFile, error) {
	var routed []extent
	if s := pp.linux; s != nil {
		w, err := newUnhashedBlob("linux")
		if err != nil {
			return nil, err
		}
		im.kernelW = w
		w.size = s.Size()
		if err := w.f.Truncate(s.Size()); err != nil { // the zeros after the file data come free
			return nil, fmt.Errorf("sizing the kernel's memfd: %w", err)
		}
		routed = append(routed, extent{start: int64(s.PointerToRawData), end: int64(s.PointerToRawData) + s.FileSize(), f: w.f})
	}
	if len(pp.initrd) > 0 {
		w, err := newUnhashedBlob("initrd")
		if err != nil {
			return nil, err
		}
		im.initrd = w
		if err := w.f.Truncate(pp.end); err != nil {
			return nil, fmt.Errorf("sizing the initrd's memfd: %w", err)
		}
		for i, s := range pp.initrd {
			routed = append(routed, extent{start: int64(s.PointerToRawData), end: int64(s.PointerToRawData) + s.FileSize(), f: w.f, at: pp.offsets[i]})
		}
	}
	sort.Slice(routed, func(i, j int) bool { return routed[i].start < routed[j].start })
	k := &keptFile{size: pp.size}
	var off int64
	for _, r := range append(routed, extent{start: pp.size, end: pp.size}) {
		if r.start > off {
			k.ext = append(k.ext, extent{start: off, end: r.start, mem: make([]byte, r.start-off)})
		}
		if r.end > r.start {
			k.ext = append(k.ext, r)
		}
		off = r.end
	}
	return k, nil
}

// Write keeps the next bytes of the stream.
func (k *keptFile) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if k.cur >= len(k.ext) {
			return n - len(p), fmt.Errorf("%d bytes past the %d the file had when it was opened", len(p), k.size)
		}
		e := &k.ext[k.cur]
		take := min(int64(len(p)), e.end-k.off)
		if e.f != nil {
			if _, err := e.f.WriteAt(p[:take], e.at+k.off-e.start); err != nil {
				return n - len(p), err
			}
		} else {
			copy(e.mem[k.off-e.start:], p[:take])
		}
		p, k.off = p[take:], k.off+take
		if k.off == e.end {
			k.cur++
		}
	}
	return n, nil
}

// ReadAt reads the private copy; call it only after the pass.
func (k *keptFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	total := 0
	i := sort.Search(len(k.ext), func(i int) bool { return k.ext[i].end > off })
	for len(p) > 0 {
		if i >= len(k.ext) {
			return total, io.EOF
		}
		e := k.ext[i]
		take := min(int64(len(p)), e.end-off)
		if e.f != nil {
			if n, err := e.f.ReadAt(p[:take], e.at+off-e.start); n < int(take) {
				return total + n, fmt.Errorf("reading the private copy: %w", err)
			}
		} else {
			copy(p, e.mem[off-e.start:])
		}
		total += int(take)
		p, off = p[take:], off+take
		i++
	}
	return total, nil
}

// segment is a range of the file a streamHash takes, followed by zeros.
type segment struct{ start, end, zeros int64 }

// streamHash hashes the bytes of its segments, in file order, each
// followed by its zeros, as the whole file streams through it.
type streamHash struct {
	h    hashWriter
	segs []segment
	off  int64
	i    int
}

func (s *streamHash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.i < len(s.segs) {
		g := s.segs[s.i]
		switch {
		case s.off >= g.end:
			writeZeros(s.h, g.zeros)
			s.i++
		case s.off < g.start:
			skip := min(g.start-s.off, int64(len(p)))
			p, s.off = p[skip:], s.off+skip
		default:
			take := min(g.end-s.off, int64(len(p)))
			s.h.Write(p[:take])
			p, s.off = p[take:], s.off+take
		}
	}
	s.off += int64(len(p))
	return n, nil
}

// finish ends the last segments; the whole file must have been written.
func (s *streamHash) finish() error {
	for ; s.i < len(s.segs) && s.off >= s.segs[s.i].end; s.i++ {
		writeZeros(s.h, s.segs[s.i].zeros)
	}
	if s.i < len(s.segs) {
		return fmt.Errorf("hashed up to byte %d, short of %d", s.off, s.segs[s.i].end)
	}
	return nil
}

// sectionHashers hash each section the pass routes in every bank, one
// streamHash (and goroutine) per section and bank.
type sectionHashers struct {
	banks measure.Banks
	secs  []*uki.Section
	hs    [][]*streamHash // [section][bank]
}

func newSectionHashers(pp *passPlan, banks measure.Banks) *sectionHashers {
	sh := &sectionHashers{banks: banks}
	for _, s := range append([]*uki.Section{pp.linux}, pp.initrd...) {
		if s == nil {
			continue
		}
		seg := []segment{{int64(s.PointerToRawData), int64(s.PointerToRawData) + s.FileSize(), s.Size() - s.FileSize()}}
		var hs []*streamHash
		for _, a := range banks {
			hs = append(hs, &streamHash{h: a.New(), segs: seg}) // hashBanks has only supported banks
		}
		sh.secs = append(sh.secs, s)
		sh.hs = append(sh.hs, hs)
	}
	return sh
}

func (sh *sectionHashers) writers() []io.Writer {
	var ws []io.Writer
	for _, hs := range sh.hs {
		ws = append(ws, writers(hs)...)
	}
	return ws
}

// sum returns section i's digests.
func (sh *sectionHashers) sum(i int) (measure.Digests, error) {
	d := measure.Digests{}
	for j, h := range sh.hs[i] {
		if err := h.finish(); err != nil {
			return nil, fmt.Errorf("section %s: %w", sh.secs[i].Name, err)
		}
		d[sh.banks[j]] = h.h.Sum(nil)
	}
	return d, nil
}

// sha256Of is the SHA-256 hash of s (after sum).
func (sh *sectionHashers) sha256Of(s *uki.Section) hashWriter {
	i := slices.Index(sh.secs, s)
	return sh.hs[i][slices.Index(sh.banks, measure.SHA256)].h
}

// wholeInitrdHasher hashes the initrd's pieces with their padding as the
// initrd's SHA-256 starts, when there are two (with one, its section's
// SHA-256 is continued instead).
func wholeInitrdHasher(pp *passPlan) *streamHash {
	if len(pp.initrd) < 2 {
		return nil
	}
	h := &streamHash{h: sha256.New()}
	for i, s := range pp.initrd {
		end := pp.end
		if i+1 < len(pp.initrd) {
			end = pp.offsets[i+1]
		}
		h.segs = append(h.segs, segment{int64(s.PointerToRawData), int64(s.PointerToRawData) + s.FileSize(), end - pp.offsets[i] - s.FileSize()})
	}
	return h
}

// maxPassZeroTail bounds the zero fill of a section the one pass hashes
// (before Verify runs); larger ones go through copyPE.
const maxPassZeroTail = 64 << 10

// writeZeros hashes n zeros, at most 64 KiB of them in memory at once.
func writeZeros(h io.Writer, n int64) {
	zeros := make([]byte, min(n, 64<<10))
	for n > 0 {
		k := min(n, int64(len(zeros)))
		h.Write(zeros[:k])
		n -= k
	}
}
