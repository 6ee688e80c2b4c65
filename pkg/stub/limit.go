package stub

import "fmt"

// DefaultMaxSize is the default limit on the size of a file ukiboot reads
// whole (Policy.MaxSize, -max-size): far above real UKIs (tens of MiB),
// far below what would exhaust a LinuxBoot machine's memory.
const DefaultMaxSize int64 = 1 << 30

// TooLargeError is returned for a file over the size limit, before any of
// it is read.
type TooLargeError struct {
	File  string
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, more than the limit of %d bytes on files read whole (raise it with -max-size)", e.File, e.Size, e.Limit)
}

// CheckSize returns a *TooLargeError when size, the size of the file named
// name as its fstat gives it, is over limit (DefaultMaxSize when limit is
// 0 or less). Callers check before they read anything and then read at
// most size bytes, so a file that grows while it is read is not read past
// the limit.
func CheckSize(name string, size, limit int64) error {
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if size > limit {
		return &TooLargeError{File: name, Size: size, Limit: limit}
	}
	return nil
}
