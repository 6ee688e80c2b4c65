package main

import (
	"crypto"
	_ "crypto/sha1" // the hashes of the floor
	_ "crypto/sha256"
	_ "crypto/sha512"
	"debug/pe"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// measured: systemd-stub measures this section into PCR 11 (the
// fixtures have .linux, .osrel, .cmdline, .initrd and .uname).
func measured(name string) bool {
	switch name {
	case ".linux", ".osrel", ".cmdline", ".initrd", ".ucode", ".splash", ".dtb", ".uname", ".sbat",
		".pcrpkey", ".profile", ".dtbauto", ".hwids", ".efifw":
		return true
	}
	return false
}

// hashJob is one hash ukiboot must compute: an algorithm over some bytes.
type hashJob struct {
	what string
	alg  crypto.Hash
	data [][]byte
}

// measureFloor times, with Go's own hashes on the UKI's bytes in memory,
// every hash a verified boot with the sha1, sha256 and sha384 banks must
// compute: the Authenticode SHA-256 (over the whole file, which the
// signed ranges nearly are) and each bank over the measured sections. It
// returns budget 1b's floor, max(total / cores, longest), and a note.
func measureFloor(path string) (float64, string, error) {
	img, err := os.ReadFile(path)
	if err != nil {
		return 0, "", err
	}
	sections, err := measuredBytes(path, img)
	if err != nil {
		return 0, "", err
	}
	jobs := []hashJob{{"Authenticode sha256 (file)", crypto.SHA256, [][]byte{img}}}
	for _, alg := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384} {
		jobs = append(jobs, hashJob{"bank " + strings.ToLower(strings.ReplaceAll(alg.String(), "-", "")) + " (sections)", alg, sections})
	}
	var times []float64
	var parts []string
	for _, j := range jobs {
		t := bestOf(3, j)
		times = append(times, t)
		parts = append(parts, fmt.Sprintf("%s %.3f s", j.what, t))
	}
	floor := hashFloor(times, runtime.NumCPU())
	note := fmt.Sprintf("1b floor = max(total hash CPU / cores, longest single hash) = %.3f s with %d cores, "+
		"Go's hashes (best of 3, same run) over the file's bytes in memory: %s. "+
		"The initrd's SHA-256 is not counted (it can be derived).", floor, runtime.NumCPU(), strings.Join(parts, ", "))
	return floor, note, nil
}

// measuredBytes are the bytes of the measured sections, each cut at its
// VirtualSize as systemd-stub measures it.
func measuredBytes(path string, img []byte) ([][]byte, error) {
	f, err := pe.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	var out [][]byte
	for _, s := range f.Sections {
		if !measured(s.Name) {
			continue
		}
		n := min(s.VirtualSize, s.Size)
		if int64(s.Offset)+int64(n) > int64(len(img)) {
			return nil, fmt.Errorf("%s: section %s runs past the end of the file", path, s.Name)
		}
		out = append(out, img[s.Offset:s.Offset+n])
	}
	return out, nil
}

// bestOf is the shortest of n timings of the job, in seconds, in 1 MiB
// writes (as ukiboot's copies feed its hashes).
func bestOf(n int, j hashJob) float64 {
	best := time.Duration(1<<63 - 1)
	for range n {
		start := time.Now()
		h := j.alg.New()
		for _, d := range j.data {
			for off := 0; off < len(d); off += 1 << 20 {
				h.Write(d[off:min(off+1<<20, len(d))])
			}
		}
		h.Sum(nil)
		best = min(best, time.Since(start))
	}
	return best.Seconds()
}
