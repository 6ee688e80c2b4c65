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
	./pkg/stub:FuzzDTBAutoParsers ./pkg/measure:FuzzResponses

.PHONY: all build deps vet lint unit bench-smoke fuzz bench integration test demo clean

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

# Every Go benchmark once (-benchtime=1x), no tests, so that they build
# and run on every `make test` and cannot rot; their fixtures are sized to
# keep this short. Budgets are judged by `make bench`, never here.
bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime=1x ./pkg/... ./cmds/...

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

# -list over 100 UKIs of 200 MiB against 100 of 1 MiB (sparse files):
# big/small is the ratio of the times (issue 10: at most 1.2).
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 10x ./cmds/ukiboot

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
