# ukiboot: build, test and demo. Every target installs what it needs on a
# Debian (bookworm) machine; run as root, or with sudo available.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
GOBIN := $(shell PATH="$(PATH)" $(GO) env GOPATH 2>/dev/null)/bin
STATICCHECK_VERSION := v0.8.2
FUZZTIME ?= 10s

# Debian packages the tests use: objcopy/objdump (binutils), the real
# systemd-stub (systemd-boot-efi), bootctl (systemd-boot) and
# systemd-analyze (systemd) as ordering oracles, signing oracles
# (sbsigntool, osslsigncode), GNU cpio as an independent archive reader,
# partition-table oracles (fdisk, gdisk), filesystem builders for disk
# images made without root (dosfstools, mtools, e2fsprogs), python3's
# hashlib/uuid as the CHID oracle and a TPM 2.0 (swtpm, swtpm-tools'
# swtpm_setup) as the oracle of the TPM commands ukiboot encodes itself.
DEBS := binutils systemd-boot-efi systemd-boot systemd sbsigntool osslsigncode cpio \
	fdisk gdisk dosfstools mtools e2fsprogs python3 swtpm swtpm-tools

# Fuzz targets run by `make test`, as package:Target.
FUZZ := ./pkg/uki:FuzzRead ./pkg/uki:FuzzParseOSRelease \
	./pkg/bls:FuzzParseType1 ./pkg/bls:FuzzParseLoaderConf ./pkg/bls:FuzzCompareVersions \
	./pkg/authenticode:FuzzParseSignature ./pkg/authenticode:FuzzSignatureList ./pkg/authenticode:FuzzTrustFile \
	./pkg/authenticode:FuzzCanonicalDER ./pkg/authenticode:FuzzCertificateBag ./pkg/authenticode:FuzzNeededAlgorithms \
	./pkg/disk:FuzzParseTable ./pkg/sbat:FuzzParseSBAT ./pkg/sbat:FuzzParseLevel ./pkg/smbios:FuzzStructures \
	./pkg/stub:FuzzDTBAutoParsers ./pkg/measure:FuzzResponses ./pkg/netboot:FuzzParseURL

.PHONY: all build deps vet lint unit bench-smoke fuzz bench bench-clean bench-rom integration test demo clean

all: build

build:
	$(GO) build -o bin/ukiboot ./cmds/ukiboot

# Install the Debian packages that are missing (apt-get update only then).
deps:
	@command -v $(GO) >/dev/null || { echo "Go 1.24 or newer is needed (/usr/local/go or PATH)"; exit 1; }
	$(call apt-install,$(DEBS))

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nonetboot ./cmds/ukiboot

lint: vet
	@[ -x $(GOBIN)/staticcheck ] && $(GOBIN)/staticcheck -version | grep -qF "($(STATICCHECK_VERSION:v%=%))" || \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

# Real Microsoft signatures for the verifier's tests: Debian's signed shim
# (signed by Microsoft's UEFI CA 2011 and 2023), downloaded and unpacked,
# not installed.
SHIM := out/shim/usr/lib/shim/shimx64.efi.signed
$(SHIM):
	@set -e; $(call apt-download,out/debs,shim-signed); \
	rm -rf out/shim; dpkg-deb -x $$deb out/shim; test -f $(SHIM)

unit: deps $(SHIM)
	UKIBOOT_REQUIRE_TOOLS=1 UKIBOOT_SHIM=$(CURDIR)/$(SHIM) $(GO) test -count=1 ./...
	$(GO) test -count=1 -tags nonetboot -run 'NoNetBoot|ListHidden|ReferenceDocuments' ./cmds/ukiboot

# Every Go benchmark once (-benchtime=1x), no tests, so that they build
# and run on every `make test` and cannot rot; their fixtures are sized to
# keep this short. Budgets are judged by `make bench`, never here.
bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime=1x ./pkg/... ./cmds/... ./internal/...

# Go's fuzzing coordinator can end a run at the -fuzztime deadline with a
# bare "context deadline exceeded" and no failing input (a race in
# internal/fuzz, golang/go#75804, seen here on a busy machine). Such a run,
# and only such a run, is tried again (up to three runs): a real finding writes a failing
# input or prints the test's own failure (file.go:line:), and fails at once.
fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		for try in 1 2 3; do \
			echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x $$pkg 2>&1) && { echo "$$out"; break; }; \
			echo "$$out"; \
			if [ $$try -lt 3 ] && echo "$$out" | grep -q 'context deadline exceeded' && \
				! echo "$$out" | grep -qE 'Failing input|panic:|\.go:[0-9]+:'; then \
				echo "fuzz: $$name stopped at the deadline without a failing input (golang/go#75804): again"; \
				continue; \
			fi; \
			exit 1; \
		done; \
	done

# The performance budgets of issues 14 and 15 (docs/performance.md): fixtures
# built by benchfix and cached in out/bench (signed UKIs of BENCH_SIZES
# MiB, small,main,large; 100-entry ESP trees), then benchtab times ukiboot
# against its baselines with hyperfine, measures memory and sizes, prints
# one table and fails when a budget is missed; case 8 downloads the main
# UKI from benchserve on 127.0.0.1 (ukiboot -url against wget). BENCH_ROM=1 (default) adds
# ukiboot's share of the ROM initramfs (u-root's core set and the ROM set)
# and the ROM VM's boot time (the test ROM as make rom-test builds it;
# its kernel comes from KERNEL_CACHE, 9 to 15 minutes the first time).
# Not part of make test (bench-smoke runs the Go benchmarks there).
# make bench-clean removes out/bench (the cached fixtures and results).
BENCH_OUT := out/bench
BENCH_SIZES ?= 50,200,400
BENCH_RUNS ?= 10
BENCH_ROM ?= 1
# budget 2's throttled row: the fixtures' disk read at this many bytes/s
# (a SATA SSD or eMMC: slower than the hashes, as at boot)
BENCH_COLD_BPS ?= 200000000
# budget 8's paced row: benchserve's link at this many bytes/s (1 Gbit/s:
# slower than the hashes, as a server port at boot)
BENCH_NET_BPS ?= 125000000
# only these cases (e.g. 6,8: a quick look; the verdict is then partial)
BENCH_CASES ?=
BENCH_GO_PKGS := ./pkg/authenticode ./pkg/measure ./pkg/stub ./internal/fanout ./pkg/cpio ./pkg/bls ./cmds/ukiboot
bench: build
	$(call apt-install,hyperfine openssl wget)
	$(GO) run ./internal/cmd/benchfix -out $(BENCH_OUT) -sizes $(BENCH_SIZES) -list 1,200
	$(GO) build -trimpath -ldflags='-s -w' -o $(BENCH_OUT)/ukiboot-stripped ./cmds/ukiboot
	$(GO) build -trimpath -ldflags='-s -w' -tags nonetboot -o $(BENCH_OUT)/ukiboot-stripped-nonetboot ./cmds/ukiboot
	$(GO) build -o $(BENCH_OUT)/benchserve ./internal/cmd/benchserve
	$(if $(filter 1,$(BENCH_ROM)),$(MAKE) --no-print-directory bench-rom)
	$(GO) run ./internal/cmd/benchtab -fixtures $(BENCH_OUT) -ukiboot bin/ukiboot -sizes $(BENCH_SIZES) \
		-runs $(BENCH_RUNS) -cold-bps $(BENCH_COLD_BPS) -go-bench "$(BENCH_GO_PKGS)" \
		-stripped $(BENCH_OUT)/ukiboot-stripped -stripped-nonetboot $(BENCH_OUT)/ukiboot-stripped-nonetboot \
		-serve $(BENCH_OUT)/benchserve -net-bps $(BENCH_NET_BPS) -rom-initramfs-max $(ROM_INITRAMFS_MAX_NETBOOT) \
		-rom-initramfs-max-nonetboot $(ROM_INITRAMFS_MAX_NONETBOOT) -cases "$(BENCH_CASES)" \
		$(if $(filter 1,$(BENCH_ROM)),-rom)

bench-clean:
	rm -rf $(BENCH_OUT)

# Budget 6's initramfs shares (u-root's core set and the ROM set, each
# with and without network boot) and budget 7's ROM boot (make bench).
bench-rom: vm-assets
	@# Each set with and without network boot; the ROM set's initramfs is
	@# built whatever its size (ROM_INITRAMFS_MAX=ROM_MAX): benchtab judges it.
	@for net in 0 1; do for set in core ""; do \
		$(MAKE) --no-print-directory rom-share ROM_OUT=$(BENCH_OUT)/rom-$${set:-set}$$([ $$net = 0 ] && echo -nonetboot) \
			COMMANDS=$$set NETBOOT=$$net ROM_INITRAMFS_MAX=$(ROM_MAX) DB= DBX= SBATLEVEL= || exit 1; done; done
	@$(MAKE) --no-print-directory rom ROM_OUT=$(ROM_TEST_OUT) SYSTEM_TRUSTED_KEYS=rom/testkeys/kernel-signing.crt \
		DB=rom/testkeys/uki-signing.crt DBX= SBATLEVEL= CA=rom/testkeys/https-ca.crt UKIBOOT_ARGS= COMMANDS=
	rm -f $(BENCH_OUT)/rom-boot.txt
	@# A failed boot leaves no rom-boot.txt: the table then shows case 7 failed.
	-UKIBOOT_INTEGRATION=1 UKIBOOT_REQUIRE_TOOLS=1 UKIBOOT_ROM=$(CURDIR)/$(ROM_TEST_OUT) \
		UKIBOOT_STAGE1=$(CURDIR)/$(ROM_TEST_OUT)/ukiboot.cpio.xz UKIBOOT_BENCH_ROM=$(CURDIR)/$(BENCH_OUT)/rom-boot.txt \
		nice -n 10 $(GO) test -count=1 -timeout 20m -v -run '^TestROMBenchBoot$$' ./integration/

# VM tests: qemu boots Debian's kernel with a u-root first stage running
# ukiboot, which kexecs UKIs and type #1 entries from disk images.
integration: deps vm-assets e2e-assets
	UKIBOOT_INTEGRATION=1 UKIBOOT_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 25m -v ./integration/

# The test command of the README and of CI.
test: deps lint unit bench-smoke fuzz integration rom-test rom-check

# Boot a VM on this terminal: the first stage (u-root + ukiboot -auto)
# finds a sample disk, picks the default UKI and kexecs it; the sample OS
# prints what it was handed and powers off. Quit qemu with Ctrl-a x.
demo: deps vm-assets
	UKIBOOT_INTEGRATION=1 UKIBOOT_DEMO_DIR=$(CURDIR)/out/demo $(GO) test -count=1 -run '^TestBuildDemoDisk$$' ./integration/
	qemu-system-x86_64 -machine q35 -m 1024 -accel tcg -nographic -nodefaults -serial mon:stdio -no-reboot \
		-kernel out/kernel/vmlinux -initrd out/demo/stage1.cpio -append "$$(cat out/demo/cmdline)" \
		-drive file=out/demo/disk.img,format=raw,if=none,id=vd0 -device virtio-blk-pci,drive=vd0

clean: vm-clean e2e-clean
	rm -rf bin out/demo

include mk/vm.mk
include mk/e2e.mk
include mk/rom.mk
include mk/romcheck.mk
