// Package netboot is the network source of UKIs: a UKI served over
// HTTP(S), named by a URL (-url, or a type #1 entry's uki-url), listed
// from its headers and booted from one download.
//
// Listing (Source.Headers) reads the headers and the small sections
// (.osrel, .cmdline, .uname) through Range requests (pkg/httpra), so
// that a 200 MiB UKI is listed with a few requests and well under a
// MiB. Booting (Source.Files, for stub.Target) hands pkg/stub a file
// whose headers and signature table are read with Range requests and
// whose bytes come from one GET of the whole file, read once by the
// stub's one pass: hashed, measured and copied into sealed memfds as it
// arrives, with no temporary file and no second read. Its size is bound
// by Content-Length (which must be present) and by -max-size before
// any of the body is read; more or fewer bytes than announced, or a
// transfer that stalls longer than the read timeout, are errors.
//
// Integrity does not depend on the transport: what is booted is the
// private copy, verified as a whole against the trust store as a UKI
// from a disk is, and compared with the bytes the Range requests gave
// (a server that serves other bytes to the GET is refused as "changed
// while it was read"). TLS adds confidentiality and authenticates the
// server; a minimum version in the URL (#min-version=V,
// stub.Policy.MinVersion) refuses the rollback to an older signed UKI
// that anyone on the path could serve.
//
// A server without Range support is listed by its URL only; when its UKI
// is booted it is downloaded whole into a sealed memfd first, which the
// one pass then reads: such a UKI takes its size in memory twice until
// the plan is built.
//
// A UKI loaded from a URL has no partition: no addons, credentials,
// extensions or .extra.d are looked up (Files opens nothing else).
//
// u-root's pkg/boot/netboot is not used: it turns DHCP answers and
// PXE/iPXE configurations into kernels to fetch, with u-root's pkg/curl,
// whose io.ReaderAt reads a file from its start and keeps it, so that
// reading a UKI's signature table would download all of it, and which
// bounds neither size nor stalls. Here the URL is given (-url, uki-url),
// and pkg/httpra reads it.
package netboot
