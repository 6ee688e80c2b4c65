package measure

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// TPM is what a boot does with a TPM 2.0; tests use a fake.
type TPM interface {
	// Banks returns the active (allocated) PCR banks, including ones
	// ukiboot cannot compute (Banks.Unsupported).
	Banks() (Banks, error)
	// Read returns the value of pcr in bank a.
	Read(pcr int, a Alg) ([]byte, error)
	// Extend extends pcr with one digest per bank (TPM2_PCR_Extend).
	Extend(pcr int, d Digests) error
	Close() error
}

// ErrNoTPM is returned by Open when the machine has no TPM 2.0 device.
var ErrNoTPM = errors.New("no TPM 2.0 (neither /dev/tpmrm0 nor /dev/tpm0)")

// devices are the TPM device nodes Open tries, in order: the kernel's
// resource manager first, then the raw device.
func devices() []string { return []string{"/dev/tpmrm0", "/dev/tpm0"} }

// Open opens the machine's TPM 2.0. It returns ErrNoTPM when no device
// node exists.
func Open() (TPM, error) {
	var errs []error
	for _, dev := range devices() {
		f, err := openDevice(dev)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return &device{rw: f, name: dev}, nil
	}
	if len(errs) == 0 {
		return nil, ErrNoTPM
	}
	return nil, errors.Join(errs...)
}

// openDevice opens a TPM device node for reading and writing commands,
// in blocking mode; a file that is not a device is refused.
//
// Blocking matters. os.OpenFile puts a character device that supports
// poll, as the TPM's does, in non-blocking mode for Go's poller, and
// Linux's TPM driver then runs a written command asynchronously: a read
// before the TPM has answered returns 0 bytes, not EAGAIN
// (drivers/char/tpm/tpm-dev-common.c, tpm_common_read), which reads as an
// empty response (seen with swtpm under qemu TCG). Opened blocking, the
// write runs the command and the read returns its response.
func openDevice(path string) (*os.File, error) {
	fi, err := os.Stat(path) // before open: opening a FIFO would block
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeDevice == 0 {
		return nil, fmt.Errorf("%s: not a TPM device (%s)", path, fi.Mode())
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	// A file descriptor without O_NONBLOCK stays blocking in os.NewFile.
	return os.NewFile(uintptr(fd), path), nil
}

// device is a TPM 2.0 reached through a device node (tests: a socket to
// swtpm), to which ukiboot sends its three commands itself (tpm2.go).
// One command at a time: a command and its response are one write and
// one read, which another goroutine's command (a signal's separator
// while the boot extends) must not come between.
type device struct {
	mu   sync.Mutex
	rw   io.ReadWriteCloser
	name string
}

func (d *device) String() string { return d.name }

func (d *device) Close() error { return d.rw.Close() }

func (d *device) Banks() (Banks, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := getBanks(d.rw)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the PCR banks: %w", d.name, err)
	}
	return b, nil
}

func (d *device) Read(pcr int, a Alg) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := readPCR(d.rw, pcr, a)
	if err != nil {
		return nil, fmt.Errorf("%s: reading PCR %d (%s): %w", d.name, pcr, a, err)
	}
	return v, nil
}

func (d *device) Extend(pcr int, dg Digests) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := extendPCR(d.rw, pcr, dg); err != nil {
		return fmt.Errorf("%s: extending PCR %d: %w", d.name, pcr, err)
	}
	return nil
}

func keys(d Digests) []Alg {
	out := make([]Alg, 0, len(d))
	for a := range d {
		out = append(out, a)
	}
	return out
}
