// Command benchserve is `make bench`'s HTTP server (not a product
// command): it serves the files under -root, read-only, on a loopback
// address only, with Range requests (http.ServeContent), so that benchtab
// can time ukiboot's verified download of a fixture against wget of the
// same URL. With -rate every response body is paced to that many bytes
// per second, the same way for every client: a link of that speed.
//
//	benchserve -root out/bench/uki-200m-seed1/esp/EFI/Linux -rate 125000000
//
// It prints its base URL (http://127.0.0.1:PORT/) as the first line on
// stdout once it listens, and serves until it is killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	root := flag.String("root", "", "the directory whose files are served")
	addr := flag.String("addr", "127.0.0.1:0", "the loopback address and port to listen on (port 0: any free one)")
	rate := flag.Int64("rate", 0, "pace every response body to this many bytes per second (0: as fast as it goes)")
	flag.Parse()
	if err := run(*root, *addr, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "benchserve:", err)
		os.Exit(1)
	}
}

func run(dir, addr string, rate int64) error {
	if dir == "" || flag.NArg() > 0 {
		return fmt.Errorf("usage: benchserve -root DIR [-addr 127.0.0.1:0] [-rate BYTES_PER_SECOND]")
	}
	if rate < 0 {
		return fmt.Errorf("-rate %d: a rate is 0 (unpaced) or a positive number of bytes per second", rate)
	}
	if err := loopbackOnly(addr); err != nil {
		return err
	}
	root, err := openRoot(dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("http://%s/\n", ln.Addr())
	srv := &http.Server{Handler: server{root: root, rate: rate, clock: realClock{}}, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}
