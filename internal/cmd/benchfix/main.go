// Command benchfix builds the fixtures of `make bench` (not a product
// command): per size, a SHA-256-signed UKI of incompressible,
// reproducible bytes (ChaCha8 from a fixed seed; .linux 3/4 and .initrd
// 1/4 of the size, plus .osrel, .cmdline and .uname) on an ESP tree with
// the CA that trusts it; and 100-entry ESP trees for -list and the menu.
// Each fixture lives in a directory named by its size and seed, completed
// by a stamp file written last, so that a re-run rebuilds nothing.
//
//	benchfix -out out/bench -sizes 50,200,400 -list 1,200 -seed 1
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ukiboot/ukiboot/internal/benchlayout"
)

func main() {
	out := flag.String("out", "out/bench", "the directory fixtures are cached in")
	sizes := flag.String("sizes", "50,200,400", "the sizes of the signed UKIs, in MiB, comma-separated")
	lists := flag.String("list", "1,200", "the UKI sizes of the 100-entry ESP trees, in MiB, comma-separated")
	seed := flag.Uint64("seed", 1, "the seed of the UKIs' bytes")
	flag.Parse()
	if err := run(*out, *sizes, *lists, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "benchfix:", err)
		os.Exit(1)
	}
}

func run(out, sizes, lists string, seed uint64) error {
	ss, err := benchlayout.ParseSizes(sizes)
	if err != nil {
		return fmt.Errorf("-sizes %q: %v", sizes, err)
	}
	ls, err := benchlayout.ParseSizes(lists)
	if err != nil {
		return fmt.Errorf("-list %q: %v", lists, err)
	}
	for _, mib := range ss {
		dir, err := signedFixture(out, mib, seed)
		if err != nil {
			return err
		}
		fmt.Println(dir)
	}
	for _, mib := range ls {
		dir, err := listFixture(out, mib, listEntries)
		if err != nil {
			return err
		}
		fmt.Println(dir)
	}
	return nil
}
