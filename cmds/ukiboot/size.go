package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/stub"
)

// byteSize is a size flag: a number of bytes, with an optional binary
// suffix (K, M, G, T; KiB, MiB, GiB, TiB also).
type byteSize int64

// maxSizeFlag sets *p to the default limit and returns the -max-size flag
// that changes it.
func maxSizeFlag(p *int64) flag.Value {
	*p = stub.DefaultMaxSize
	return (*byteSize)(p)
}

// sizeUnits are the suffixes -max-size takes, largest first.
var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}}

func (s *byteSize) String() string {
	if s == nil {
		return ""
	}
	for _, u := range sizeUnits {
		if v := int64(*s); v != 0 && v%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", v>>u.shift, u.suffix)
		}
	}
	return strconv.FormatInt(int64(*s), 10)
}

func (s *byteSize) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = byteSize(n)
	return nil
}

// parseSize reads "1073741824", "512M", "1G", "2GiB", "64KB".
func parseSize(v string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(v))
	i := strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], t[i:]
	shift, ok := uint(0), unit == "" || unit == "B"
	for _, u := range sizeUnits {
		if unit == u.suffix || unit == u.suffix+"B" || unit == u.suffix+"IB" {
			shift, ok = u.shift, true
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case !ok || err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with K, M, G or T (512M, 2G)", v)
	case err != nil || n > math.MaxInt64>>shift:
		return 0, fmt.Errorf("size %q is too large", v)
	case n == 0:
		return 0, fmt.Errorf("size %q: must be more than 0 bytes", v)
	}
	return n << shift, nil
}
