package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/authenticode"
	"github.com/ukiboot/ukiboot/pkg/bls"
	"github.com/ukiboot/ukiboot/pkg/stub"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// RomTrustDir is where a trust store built into the firmware image lives:
// db/ and dbx/ hold certificates or EFI signature lists.
const RomTrustDir = "/etc/ukiboot"

// platform is what the running system says about its security state.
type platform struct {
	lockdownPath string // /sys/kernel/security/lockdown
	efivarsDir   string // /sys/firmware/efi/efivars
	mokVarsDir   string // shim's MOK configuration table: /sys/firmware/efi/mok-variables
	trustDir     string // RomTrustDir
}

func realPlatform() platform {
	return platform{lockdownPath: "/sys/kernel/security/lockdown", efivarsDir: bls.DefaultEFIVarsDir,
		mokVarsDir: authenticode.DefaultMOKTableDir, trustDir: RomTrustDir}
}

// lockdownUnknown is what lockdown returns for a lockdown file that
// exists but cannot be read or parsed: it may hide a lockdown, so -verify
// auto enforces.
const lockdownUnknown = "unknown"

// lockdown returns the active lockdown mode: "none", "integrity",
// "confidentiality", "" when the LSM is absent (no file), or
// lockdownUnknown when the file cannot be read or names no mode.
func (p platform) lockdown() string {
	b, err := os.ReadFile(p.lockdownPath)
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		return lockdownUnknown
	}
	s := string(b)
	if i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']'); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return lockdownUnknown
}

// secureBoot reports whether the firmware says Secure Boot is on.
func (p platform) secureBoot() bool {
	b, err := os.ReadFile(filepath.Join(p.efivarsDir, "SecureBoot-"+authenticode.GlobalVariableGUID))
	return err == nil && len(b) >= 5 && b[4] == 1
}

// policy works out the verification policy from -verify, -db, -dbx, the
// trust store built into the ROM, the firmware's db/dbx and the kernel's
// lockdown state. It returns the policy and why it is what it is.
func (p platform) policy(o *options) (stub.Verification, string, error) {
	v := stub.Verification{Store: authenticode.NewStore()}
	if o.verify == "off" {
		return v, "-verify off", nil
	}
	configured := false
	for _, d := range o.db {
		if err := v.Store.AddFile(d, false); err != nil {
			return v, "", fmt.Errorf("-db %s: %w", d, err)
		}
		configured = true
	}
	for _, d := range o.dbx {
		if err := v.Store.AddFile(d, true); err != nil {
			return v, "", fmt.Errorf("-dbx %s: %w", d, err)
		}
	}
	for _, side := range []struct {
		dir    string
		forbid bool
	}{{"db", false}, {"dbx", true}} {
		d := filepath.Join(p.trustDir, side.dir)
		// Lstat: a broken symbolic link is an error, not an absent store.
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := v.Store.AddFile(d, side.forbid); err != nil {
			return v, "", fmt.Errorf("trust store %s: %w", d, err)
		}
		if !side.forbid {
			configured = true
		}
	}
	if _, err := v.Store.AddEFIVars(p.efivarsDir); err != nil {
		return v, "", fmt.Errorf("firmware trust store: %w", err)
	}
	mok := authenticode.MOK{EFIVarsDir: p.efivarsDir, TableDir: p.mokVarsDir, Trust: o.trustMOK}
	if err := v.Store.AddMOK(mok); err != nil {
		return v, "", fmt.Errorf("shim's MOK lists: %w", err)
	}
	level, sources, err := p.sbatLevel(o)
	if err != nil {
		return v, "", err
	}
	v.Store.SBAT, v.Store.SBATSources = level, sources
	lock, sb := p.lockdown(), p.secureBoot()
	switch o.verify {
	case "enforce":
		v.Mode = stub.VerifyEnforce
		why := "-verify enforce"
		if v.Store.DB.Empty() {
			why += "; the trust store holds no certificates or image hashes, so every UKI will be refused: give -db, or put certificates into " + filepath.Join(p.trustDir, "db")
		}
		return v, why, nil
	case "auto", "":
		switch {
		case lock == "integrity" || lock == "confidentiality":
			v.Mode = stub.VerifyEnforce
			return v, "the kernel is locked down (" + lock + ")", nil
		case lock == lockdownUnknown:
			v.Mode = stub.VerifyEnforce
			return v, p.lockdownPath + " cannot be read or names no lockdown mode: enforced, since the kernel may be locked down", nil
		case sb:
			v.Mode = stub.VerifyEnforce
			return v, "Secure Boot is enabled", nil
		case configured:
			v.Mode = stub.VerifyEnforce
			return v, "a trust store is configured", nil
		}
		v.Mode = stub.VerifyReport
		return v, "no lockdown, no Secure Boot, no trust store configured: verify and report only", nil
	}
	return v, "", fmt.Errorf("-verify %q: want auto, enforce or off", o.verify)
}

// printStoreSummary prints what the trust store holds (for -list -v): to
// stdout before the list, or to stderr when stdout is JSON.
func printStoreSummary(stdout, stderr io.Writer, v stub.Verification, asJSON bool) {
	if v.Mode == stub.VerifyOff || v.Store == nil {
		return
	}
	w := stdout
	if asJSON {
		w = stderr
	}
	fmt.Fprintln(w, "trust store:")
	for _, l := range v.Store.Summary() {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// entryCheck is what the policy says about an entry's UKI, for -list and
// the menu. It never decides a boot: the plan verifies the private copy
// that is booted.
type entryCheck struct {
	// status is "ok", "invalid", "untrusted" (not trusted and
	// verification is enforced) or "unverified" (not trusted, not
	// enforced).
	status  string
	verdict *authenticode.Verdict
	err     error
	// unchecked: the UKI's signature was not read (-list without
	// -verify-all).
	unchecked bool
}

// needsCheck says whether check must read the entry's UKI: verification
// is on and the entry is a UKI.
func (p *pipeline) needsCheck(e *bls.Entry) bool {
	return p.verify.Mode != stub.VerifyOff && e.UKI != ""
}

// quickCheck is check without reading the UKI's contents: what its size
// and the policy alone say (-list without -verify-all).
func (p *pipeline) quickCheck(e *bls.Entry) entryCheck {
	if !e.Bootable() || !p.needsCheck(e) || e.Network() {
		return p.check(e)
	}
	f, _, err := p.openUKI(e)
	if err != nil {
		return entryCheck{status: "invalid", err: err}
	}
	f.Close()
	return entryCheck{status: "ok", unchecked: true}
}

// openUKI opens the entry's UKI and returns its size, refused when larger
// than -max-size.
func (p *pipeline) openUKI(e *bls.Entry) (*os.File, int64, error) {
	f, err := e.Root.Open(e.UKI)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err == nil {
		err = stub.CheckSize(e.Root.Display(e.UKI), st.Size(), p.o.maxSize)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// check verifies the entry's UKI from disk (refused when larger than
// -max-size).
func (p *pipeline) check(e *bls.Entry) entryCheck { return p.checkUntil(e, nil) }

// checkCancelled is what reading a UKI returns once its check is
// stopped.
type checkCancelled struct{}

func (checkCancelled) Error() string { return "verification cancelled" }

// cancelReader fails every read once done is closed, so that a check in
// the middle of a large UKI stops at its next read.
type cancelReader struct {
	r    io.ReaderAt
	done <-chan struct{}
}

func (c cancelReader) ReadAt(b []byte, off int64) (int, error) {
	select {
	case <-c.done:
		return 0, checkCancelled{}
	default:
	}
	return c.r.ReadAt(b, off)
}

// Done is closed when the check is stopped (tests block on it).
func (c cancelReader) Done() <-chan struct{} { return c.done }

// checkUntil is check that stops reading the UKI once stop is closed (nil:
// never); its verdict then is of no use.
func (p *pipeline) checkUntil(e *bls.Entry, stop <-chan struct{}) entryCheck {
	v := p.verify
	switch {
	case !e.Bootable():
		return entryCheck{status: string(e.Status), err: e.Err}
	case v.Mode == stub.VerifyOff:
		return entryCheck{status: "ok"}
	case e.Network():
		// Reading a network UKI in full is the boot's download: it is
		// verified when it is booted, not for a list or the menu.
		return entryCheck{status: "ok", unchecked: true}
	case e.UKI == "" && v.Mode == stub.VerifyEnforce:
		return entryCheck{status: "untrusted", err: fmt.Errorf("%s: type #1 kernel entries cannot be verified and verification is enforced", e.DisplayPath())}
	case e.UKI == "":
		return entryCheck{status: "unverified"}
	}
	verdict, err := p.verdictOf(e, stop)
	if err != nil {
		return entryCheck{status: "invalid", err: err}
	}
	if verdict.Status == authenticode.Trusted {
		return entryCheck{status: "ok", verdict: verdict}
	}
	c := entryCheck{status: "unverified", verdict: verdict, err: fmt.Errorf("%s: %s", e.DisplayPath(), verdict)}
	if v.Mode == stub.VerifyEnforce {
		c.status = "untrusted"
	}
	return c
}

// ukiKey names a UKI on a partition: the entries of its profiles, and a
// type #1 entry naming it, share one verdict.
type ukiKey struct {
	root *bls.Root
	path string
}

// verdictOf verifies the entry's UKI from disk once per file: a UKI with
// several profiles is listed as several entries, and read once. A check
// stopped half-way is not remembered.
func (p *pipeline) verdictOf(e *bls.Entry, stop <-chan struct{}) (*authenticode.Verdict, error) {
	key := ukiKey{e.Root, e.UKI}
	p.mu.Lock()
	done, ok := p.verdicts[key]
	p.mu.Unlock()
	if ok {
		return done.verdict, done.err
	}
	verdict, err := p.readVerdict(e, stop)
	select {
	case <-stop: // nil: never
		return verdict, err
	default:
	}
	p.mu.Lock()
	if p.verdicts == nil {
		p.verdicts = map[ukiKey]fileVerdict{}
	}
	p.verdicts[key] = fileVerdict{verdict, err}
	p.mu.Unlock()
	return verdict, err
}

// fileVerdict is what verifying one UKI file came to.
type fileVerdict struct {
	verdict *authenticode.Verdict
	err     error // the file could not be opened or parsed
}

func (p *pipeline) readVerdict(e *bls.Entry, stop <-chan struct{}) (*authenticode.Verdict, error) {
	f, size, err := p.openUKI(e)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	full := e.Root.Display(e.UKI)
	var r io.ReaderAt = f
	if stop != nil {
		r = cancelReader{f, stop}
	}
	if p.sys.wrapUKI != nil {
		r = p.sys.wrapUKI(full, r)
	}
	u, err := uki.Read(r, size, full, uki.KindUKI)
	if err != nil {
		return nil, err
	}
	return authenticode.VerifyFile(u, r, p.verify.Store), nil
}
