# The LinuxBoot ROM payload: a kernel built from Debian's linux-source with
# rom/linuxboot.config, a u-root initramfs whose init runs ukiboot, and the
# two in one bzImage for coreboot's CONFIG_PAYLOAD_FILE. Included by the
# main Makefile.
#
#   make kernel     build/bzImage (allnoconfig + rom/linuxboot.config, no
#                   modules), built once per (fragment, linux-source version,
#                   trusted certificates) and cached in $(KERNEL_CACHE)
#   make initramfs  build/ukiboot.cpio.xz (u-root busybox + ukiboot, init
#                   runs ukiboot with the flags of uroot.uinitargs=)
#   make rom        build/linuxboot.bzImage: the cached kernel tree relinked
#                   with build/ukiboot.cpio.xz built in; prints SHA-256s
#   make rom-sizes  the size of each part and what ukiboot adds
#   make rom-share  what ukiboot adds to the initramfs, for make bench
#   make rom-test   the VM tests of integration/rom_test.go
#
# Variables:
#   SYSTEM_TRUSTED_KEYS=FILE  PEM certificates whose keys (or CAs) signed the
#                   kernels the ROM may kexec. Required: the kernel's lockdown
#                   is forced, so kexec_file_load refuses every kernel whose
#                   signature does not chain to one of these (no UEFI: the
#                   platform keyring is empty). SYSTEM_TRUSTED_KEYS=none
#                   builds a ROM that can kexec nothing.
#   DB=FILE DBX=FILE SBATLEVEL=FILE  ukiboot's trust store, baked in as
#                   /etc/ukiboot/db, /etc/ukiboot/dbx, /etc/ukiboot/sbatlevel
#   CA=FILE         PEM CA certificates for network boot over HTTPS, baked in
#                   as /etc/ukiboot/ca.pem, which ukiboot checks servers against
#                   unless -ca names another file; without it, HTTPS needs the
#                   system roots (/etc/ssl/certs), which the ROM set does not have
#   UKIBOOT_ARGS=   flags for ukiboot always given by init (before those of
#                   uroot.uinitargs=); default -on-failure menu: a failed
#                   unattended -auto shows the menu, not a shell
#   NETBOOT=0       ukiboot without network boot (-tags nonetboot: no net/http,
#                   crypto/tls, DHCP; 707 KiB less xz), for ROMs that boot only
#                   from disks; the initramfs budget is then 3 MiB, not 4 MiB
#   COMMANDS=core   u-root's core commands (those this module can build)
#                   instead of the ROM set (ROM_CMDS); over the initramfs
#                   budget, so only the payload's 8 MiB is enforced
#   KERNEL_CACHE=DIR  where built kernel trees are kept
#
# Nothing is downloaded but Debian packages (apt) and Go modules (proxy).

ROM_MK_SAVED_GOAL := $(.DEFAULT_GOAL)

ROM_OUT ?= build
KERNEL_CACHE ?= $(HOME)/.cache/ukiboot/kernel
ROM_CONFIG := rom/linuxboot.config
ROM_LINUX_SOURCE ?= linux-source
SYSTEM_TRUSTED_KEYS ?=
# Budgets (bytes): 16 MiB boards with Intel ME and FSP leave < 10 MiB.
ROM_KERNEL_MAX ?= 5242880
# The initramfs: 3 MiB without network boot; network boot (net/http,
# crypto/tls, DHCP) adds 707 KiB xz (3,527,512 bytes for the ROM set, make
# bench 2026-11-30), so 4 MiB with it. The payload's 8 MiB is the hard limit.
NETBOOT ?= 1
ROM_INITRAMFS_MAX_NONETBOOT := 3145728
ROM_INITRAMFS_MAX_NETBOOT := 4194304
ROM_INITRAMFS_MAX ?= $(if $(filter 0,$(NETBOOT)),$(ROM_INITRAMFS_MAX_NONETBOOT),$(ROM_INITRAMFS_MAX_NETBOOT))
ROM_MAX ?= 8388608
ROM_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

ROM_GO := $(or $(shell command -v $(or $(GO),go) 2>/dev/null),/usr/local/go/bin/go)
include mk/apt.mk
ROM_KERNEL_DEBS := $(ROM_LINUX_SOURCE) build-essential bc flex bison libelf-dev libssl-dev xz-utils cpio

# Everything that goes into the cache key but the source version, which
# kernel-key computes: the fragment and the trusted certificates.
ROM_KEYS_FILE = $(if $(filter none,$(SYSTEM_TRUSTED_KEYS)),,$(SYSTEM_TRUSTED_KEYS))

.PHONY: kernel kernel-deps kernel-check initramfs rom rom-share rom-sizes rom-test rom-clean

kernel-deps:
	$(call apt-install,$(ROM_KERNEL_DEBS))

# build/kernel.env: where the cached tree of this configuration is (KDIR),
# the source tarball and its version; rewritten only when it changes.
$(ROM_OUT)/kernel.env: FORCE | kernel-deps
	@set -e; \
	if [ -z "$(SYSTEM_TRUSTED_KEYS)" ]; then \
		echo "SYSTEM_TRUSTED_KEYS is not set: give the PEM file of the certificates that sign the"; \
		echo "kernels this ROM boots (make kernel SYSTEM_TRUSTED_KEYS=certs.pem; a CA certificate"; \
		echo "trusts every kernel it signed), or SYSTEM_TRUSTED_KEYS=none for a kernel whose forced"; \
		echo "lockdown refuses to kexec anything."; exit 1; fi; \
	if [ -n "$(ROM_KEYS_FILE)" ]; then \
		[ -r "$(ROM_KEYS_FILE)" ] || { echo "SYSTEM_TRUSTED_KEYS=$(ROM_KEYS_FILE): no such file"; exit 1; }; \
		grep -q -- '-----BEGIN CERTIFICATE-----' "$(ROM_KEYS_FILE)" || \
			{ echo "SYSTEM_TRUSTED_KEYS=$(ROM_KEYS_FILE): no PEM certificate in it (-----BEGIN CERTIFICATE-----)"; exit 1; }; \
	fi; \
	srcpkg=$$(apt-cache depends $(ROM_LINUX_SOURCE) 2>/dev/null | sed -n 's/^ *Depends: \(linux-source-[0-9][^ ]*\).*/\1/p' | head -n1); \
	srcpkg=$${srcpkg:-$(ROM_LINUX_SOURCE)}; \
	ver=$$(dpkg-query -W -f='$${Version}' $$srcpkg); \
	tarball=$$(dpkg -L $$srcpkg | grep '/usr/src/linux-source-.*\.tar\.xz$$' | head -n1); \
	[ -f "$$tarball" ] || { echo "$$srcpkg $$ver: no /usr/src/linux-source-*.tar.xz in it"; exit 1; }; \
	key=$$( { echo "$$srcpkg $$ver"; cat $(ROM_CONFIG); echo keys; \
		if [ -n "$(ROM_KEYS_FILE)" ]; then cat "$(ROM_KEYS_FILE)"; fi; } | sha256sum | cut -c1-16); \
	mkdir -p $(ROM_OUT); \
	printf 'KDIR=%s\nSRCPKG=%s\nSRCVER=%s\nTARBALL=%s\n' "$(KERNEL_CACHE)/$$key" "$$srcpkg" "$$ver" "$$tarball" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# Reproducible builds: the timestamp is the source package's (dpkg keeps
# the tarball's mtime), user, host and build number are fixed.
ROM_KBUILD = KBUILD_BUILD_TIMESTAMP="$$(date -u -d @$$epoch '+%Y-%m-%d %H:%M:%S UTC')" \
	KBUILD_BUILD_USER=ukiboot KBUILD_BUILD_HOST=linuxboot KBUILD_BUILD_VERSION=1 SOURCE_DATE_EPOCH=$$epoch

# The kernel: unpacked (once per source version) into the cache, configured
# and built out of tree in KDIR/obj; KDIR/bzImage is the cache hit. An
# interrupted build resumes where it stopped.
kernel: $(ROM_OUT)/kernel.env
	@set -e; . ./$(ROM_OUT)/kernel.env; \
	if [ ! -f $$KDIR/bzImage ]; then \
		src=$(KERNEL_CACHE)/src/$$SRCPKG-$$SRCVER; \
		if [ ! -f $$src/Makefile ]; then \
			echo "unpacking $$TARBALL into $$src"; \
			rm -rf $$src.tmp; mkdir -p $$src.tmp; \
			tar -xJf $$TARBALL -C $$src.tmp --strip-components=1; \
			rm -rf $$src; mv $$src.tmp $$src; \
		fi; \
		epoch=$$(stat -c %Y $$TARBALL); \
		mkdir -p $$KDIR/obj; \
		{ echo "SRCPKG=$$SRCPKG"; echo "SRCVER=$$SRCVER"; echo "EPOCH=$$epoch"; } > $$KDIR/source; \
		cp $(ROM_CONFIG) $$KDIR/linuxboot.config; \
		if [ -n "$(ROM_KEYS_FILE)" ]; then cp "$(ROM_KEYS_FILE)" $$KDIR/trusted.pem; \
			echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$$KDIR/trusted.pem\"" >> $$KDIR/linuxboot.config; \
		else echo 'CONFIG_SYSTEM_TRUSTED_KEYS=""' >> $$KDIR/linuxboot.config; fi; \
		echo "configuring $$KDIR/obj (allnoconfig + $(ROM_CONFIG))"; \
		$(MAKE) -s -C $$src O=$$KDIR/obj KCONFIG_ALLCONFIG=$$KDIR/linuxboot.config allnoconfig; \
		$(MAKE) --no-print-directory -f mk/rom.mk kernel-check ROM_DOTCONFIG=$$KDIR/obj/.config ROM_FRAGMENT=$$KDIR/linuxboot.config; \
		echo "building the kernel in $$KDIR/obj (nice, -j$(ROM_JOBS); about 6 minutes on 2 cores)"; \
		start=$$(date +%s); \
		$(ROM_KBUILD) nice -n 10 $(MAKE) -s -C $$src O=$$KDIR/obj -j$(ROM_JOBS) bzImage; \
		echo "kernel built in $$(( $$(date +%s) - start )) s"; \
		cp $$KDIR/obj/arch/x86/boot/bzImage $$KDIR/bzImage.tmp; mv $$KDIR/bzImage.tmp $$KDIR/bzImage; \
	else echo "kernel: cached $$KDIR"; fi; \
	$(MAKE) --no-print-directory -f mk/rom.mk kernel-check ROM_DOTCONFIG=$$KDIR/obj/.config ROM_FRAGMENT=$$KDIR/linuxboot.config; \
	cmp -s $$KDIR/bzImage $(ROM_OUT)/bzImage || cp $$KDIR/bzImage $(ROM_OUT)/bzImage; \
	size=$$(stat -c %s $(ROM_OUT)/bzImage); \
	[ $$size -le $(ROM_KERNEL_MAX) ] || { echo "$(ROM_OUT)/bzImage: $$size bytes, over the kernel budget of $(ROM_KERNEL_MAX) (5 MiB): drop options from $(ROM_CONFIG)"; exit 1; }; \
	echo "$(ROM_OUT)/bzImage: $$size bytes"

# Every line of the fragment must be in the .config as written: an option
# whose dependencies are missing is silently dropped by kconfig.
kernel-check:
	@missing=$$(grep '^CONFIG_' $(ROM_FRAGMENT) | while IFS= read -r l; do grep -qxF -- "$$l" $(ROM_DOTCONFIG) || echo "  $$l (.config: $$(grep -E "^(# )?$${l%%=*}[= ]" $(ROM_DOTCONFIG) || echo absent))"; done); \
	grep -q '^# CONFIG_MODULES is not set' $(ROM_DOTCONFIG) || missing="$$missing  CONFIG_MODULES must be off"; \
	if [ -n "$$missing" ]; then echo "$(ROM_DOTCONFIG): options of $(ROM_CONFIG) that kconfig did not set:"; echo "$$missing"; exit 1; fi; \
	echo "$(ROM_DOTCONFIG): all $$(grep -c '^CONFIG_' $(ROM_FRAGMENT)) options of $(ROM_CONFIG) set"

# The initramfs: u-root's init, whose uinit is ukiboot (with UKIBOOT_ARGS,
# then the flags of uroot.uinitargs=), the commands a ROM shell needs and
# the trust store. Its shells, /bin/defaultsh and /bin/sh (what init starts
# after uinit), are ukiboot too: started by those names it closes PCRs 7,
# 11, 12 and 13, then execs gosh (a shell gate, cmds/ukiboot/gate.go).
# mkuimage writes a reproducible cpio (zero inode numbers, mtimes, owners)
# of trimmed, stripped binaries; xz runs single-threaded with fixed
# options (CRC32: the kernel's xz decoder checks no CRC64).
MKUIMAGE_VERSION ?= v0.2.0
ROM_MKUIMAGE := $(shell $(ROM_GO) env GOPATH 2>/dev/null)/bin/mkuimage
ROM_GOENV := PATH="$(dir $(ROM_GO)):$$PATH" CGO_ENABLED=0
UROOT := github.com/u-root/u-root/cmds/core
ROM_CMDS ?= init gosh ls cat cp mv rm ln mkdir mount umount dmesg ip \
	poweroff shutdown sync ps kill echo grep hexdump uname gpt df free pci more wc head tail sleep find chmod date tee lsdrivers
UKIBOOT_ARGS ?= -on-failure menu
DB ?=
DBX ?=
SBATLEVEL ?=
CA ?=
COMMANDS ?=
ROM_XZ := xz --format=xz --check=crc32 --lzma2=preset=9e,dict=1MiB --threads=1
# Not internal/cmd: make bench's tools are not in the ROM.
ROM_SRCS := go.mod go.sum $(shell find cmds pkg internal -name '*.go' -not -name '*_test.go' -not -path 'internal/cmd/*' -not -path 'internal/benchlayout/*' 2>/dev/null)

.PHONY: rom-mkuimage
rom-mkuimage:
	@$(ROM_GO) version -m $(ROM_MKUIMAGE) 2>/dev/null | grep -q "mod.*github.com/u-root/mkuimage.*$(MKUIMAGE_VERSION)" || \
		{ echo "installing mkuimage $(MKUIMAGE_VERSION)"; \
		  $(ROM_GOENV) GOBIN=$(dir $(ROM_MKUIMAGE)) $(ROM_GO) install github.com/u-root/mkuimage/cmd/mkuimage@$(MKUIMAGE_VERSION); }

# What the initramfs is made of besides the sources: rewritten when the
# variables or the trust store files change, so make rebuilds then.
$(ROM_OUT)/initramfs.inputs: FORCE
	@set -e; mkdir -p $(ROM_OUT); \
	for v in DB=$(DB) DBX=$(DBX) SBATLEVEL=$(SBATLEVEL) CA=$(CA); do \
		f=$${v#*=}; [ -z "$$f" ] || [ -e "$$f" ] || { echo "$${v%%=*}=$$f: no such file or directory"; exit 1; }; done; \
	[ -z "$(CA)" ] || { [ -f "$(CA)" ] && grep -q -- '-----BEGIN CERTIFICATE-----' "$(CA)"; } || \
		{ echo "CA=$(CA): not a file of PEM certificates (-----BEGIN CERTIFICATE-----): give the CA bundle ukiboot's -ca reads"; exit 1; }; \
	{ echo "UKIBOOT_ARGS=$(UKIBOOT_ARGS)"; echo "COMMANDS=$(COMMANDS) $(ROM_CMDS)"; echo "NETBOOT=$(NETBOOT)"; \
	  for f in $(DB) $(DBX) $(SBATLEVEL) $(CA); do find $$f -type f -print0 | sort -z | xargs -0 sha256sum; done; } > $@.tmp; \
	if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

# The command packages: the ROM set, or those of u-root's core commands
# whose dependencies this module's go.sum has (mkuimage builds in this
# module; build/core-skipped lists the others).
ROM_CMD_PKGS = $(if $(filter core,$(COMMANDS)),$$(cat $(ROM_OUT)/core-cmds),$(addprefix $(UROOT)/,$(ROM_CMDS)))

$(ROM_OUT)/core-cmds: go.mod go.sum
	@set -e; mkdir -p $(ROM_OUT); \
	dir=$$($(ROM_GO) list -m -f '{{.Dir}}' github.com/u-root/u-root); \
	$(ROM_GO) list -e -f '{{.ImportPath}}{{if or .Error .DepsErrors}} skip{{end}}' \
		$$(cd $$dir/cmds/core && for d in */; do echo $(UROOT)/$${d%/}; done) > $@.all; \
	grep -v ' skip$$' $@.all > $@.tmp; grep ' skip$$' $@.all | sed 's/ skip$$//' > $(ROM_OUT)/core-skipped || true; \
	rm $@.all; mv $@.tmp $@; \
	echo "COMMANDS=core: $$(wc -l < $@) of u-root's core commands; skipped (dependencies not in go.sum): $$(sed 's|.*/||' $(ROM_OUT)/core-skipped | tr '\n' ' ')"

# mkuimage -files for the trust store and the HTTPS CAs: SRC:DEST.
ROM_FILES = $(if $(DB),-files "$(DB):etc/ukiboot/db") $(if $(DBX),-files "$(DBX):etc/ukiboot/dbx") \
	$(if $(SBATLEVEL),-files "$(SBATLEVEL):etc/ukiboot/sbatlevel") $(if $(CA),-files "$(CA):etc/ukiboot/ca.pem")

$(ROM_OUT)/ukiboot.cpio: $(ROM_OUT)/initramfs.inputs $(ROM_SRCS) mk/rom.mk $(if $(filter core,$(COMMANDS)),$(ROM_OUT)/core-cmds) | rom-mkuimage
	@set -e; rm -f $@.tmp; \
	$(ROM_GOENV) $(ROM_MKUIMAGE) -o $@.tmp -initcmd=init -uinitcmd="ukiboot $(UKIBOOT_ARGS)" -defaultsh=ukiboot \
		$(if $(filter 0,$(NETBOOT)),-go-build-tags nonetboot) \
		$(ROM_FILES) ./cmds/ukiboot $(ROM_CMD_PKGS); \
	mv $@.tmp $@

$(ROM_OUT)/ukiboot.cpio.xz: $(ROM_OUT)/ukiboot.cpio
	@set -e; $(ROM_XZ) -c $< > $@.tmp; \
	size=$$(stat -c %s $@.tmp); \
	[ $$size -le $(ROM_INITRAMFS_MAX) ] || [ "$(COMMANDS)" = core ] || { rm $@.tmp; echo "$@: $$size bytes, over the initramfs budget of $(ROM_INITRAMFS_MAX) bytes: choose fewer commands (ROM_CMDS=...), or NETBOOT=0"; exit 1; }; \
	[ $$size -le $(ROM_INITRAMFS_MAX) ] || echo "$@: COMMANDS=core is over the initramfs budget ($(ROM_INITRAMFS_MAX) bytes): the payload must still fit its 8 MiB"; \
	mv $@.tmp $@; echo "$@: $$size bytes"

initramfs: $(ROM_OUT)/ukiboot.cpio.xz

# The ROM payload: the cached kernel tree with the initramfs built in
# (CONFIG_INITRAMFS_SOURCE=*.cpio.xz is embedded as is); only usr/ and the
# final link run. flock: clones sharing KERNEL_CACHE take turns.
# build/bzImage changes only when the kernel does (make kernel copies it
# only then), so an unchanged payload is not relinked.
rom: kernel $(ROM_OUT)/ukiboot.cpio.xz
	@$(MAKE) --no-print-directory -f mk/rom.mk $(ROM_OUT)/linuxboot.bzImage
	@set -e; size=$$(stat -c %s $(ROM_OUT)/linuxboot.bzImage); \
	[ $$size -le $(ROM_MAX) ] || { echo "$(ROM_OUT)/linuxboot.bzImage: $$size bytes, over the ROM payload budget of $(ROM_MAX) (8 MiB)"; exit 1; }; \
	echo "$(ROM_OUT)/linuxboot.bzImage: $$size bytes (coreboot: CONFIG_PAYLOAD_LINUX=y, CONFIG_PAYLOAD_FILE=\"$(CURDIR)/$(ROM_OUT)/linuxboot.bzImage\")"; \
	echo "SHA-256:"; \
	sha256sum $(ROM_OUT)/linuxboot.bzImage $(ROM_OUT)/bzImage $(ROM_OUT)/ukiboot.cpio.xz | sed 's/^/  /'; \
	if [ -n "$(ROM_KEYS_FILE)" ]; then sha256sum "$(ROM_KEYS_FILE)" | sed 's/^/  /;s/$$/ (SYSTEM_TRUSTED_KEYS)/'; fi; \
	for f in $(DB) $(DBX) $(SBATLEVEL) $(CA); do find $$f -type f -print0 | sort -z | xargs -0 sha256sum | sed 's/^/  /'; done

$(ROM_OUT)/linuxboot.bzImage: $(ROM_OUT)/bzImage $(ROM_OUT)/ukiboot.cpio.xz
	@set -e; . ./$(ROM_OUT)/kernel.env; . $$KDIR/source; epoch=$$EPOCH; \
	src=$(KERNEL_CACHE)/src/$$SRCPKG-$$SRCVER; \
	[ -f $$KDIR/obj/.config ] && [ -f $$src/Makefile ] || { echo "$$KDIR: the kernel tree is gone: rm -rf $$KDIR and make rom again"; exit 1; }; \
	echo "relinking $$KDIR/obj with $(ROM_OUT)/ukiboot.cpio.xz"; \
	start=$$(date +%s); \
	exec 9>$$KDIR/lock; flock 9; \
	$$src/scripts/config --file $$KDIR/obj/.config --set-str INITRAMFS_SOURCE "$(CURDIR)/$(ROM_OUT)/ukiboot.cpio.xz"; \
	$(MAKE) -s -C $$src O=$$KDIR/obj olddefconfig; \
	$(ROM_KBUILD) nice -n 10 $(MAKE) -s -C $$src O=$$KDIR/obj -j$(ROM_JOBS) bzImage; \
	cp $$KDIR/obj/arch/x86/boot/bzImage $(ROM_OUT)/linuxboot.bzImage.tmp; \
	exec 9>&-; \
	mv $(ROM_OUT)/linuxboot.bzImage.tmp $(ROM_OUT)/linuxboot.bzImage; \
	echo "relinked in $$(( $$(date +%s) - start )) s"

# What ukiboot adds to the initramfs: this initramfs against the same one
# built without it, written to $(ROM_OUT)/ukiboot-share as
# "set=COMMANDS xz=BYTES raw=BYTES" (no kernel needed: make bench reads it).
# Recomputed only when the initramfs changes.
rom-share: $(ROM_OUT)/ukiboot-share
	@echo "$<: $$(cat $<)"

$(ROM_OUT)/ukiboot-share: $(ROM_OUT)/ukiboot.cpio.xz
	@set -e; \
	$(ROM_GOENV) $(ROM_MKUIMAGE) -o $(ROM_OUT)/without-ukiboot.cpio -initcmd=init -uinitcmd= -defaultsh=gosh \
		$(ROM_CMD_PKGS) 2>/dev/null; \
	$(ROM_XZ) -c $(ROM_OUT)/without-ukiboot.cpio > $(ROM_OUT)/without-ukiboot.cpio.xz; \
	d() { echo $$(( $$(stat -c %s $$1) - $$(stat -c %s $$2) )); }; \
	echo "set=$(or $(COMMANDS),rom) xz=$$(d $(ROM_OUT)/ukiboot.cpio.xz $(ROM_OUT)/without-ukiboot.cpio.xz) raw=$$(d $(ROM_OUT)/ukiboot.cpio $(ROM_OUT)/without-ukiboot.cpio)" \
		> $@.tmp; \
	rm -f $(ROM_OUT)/without-ukiboot.cpio $(ROM_OUT)/without-ukiboot.cpio.xz; \
	mv $@.tmp $@

# Sizes for the README: each part, and what ukiboot adds to the initramfs
# (rom-share).
rom-sizes: rom rom-share
	@set -e; \
	kib() { echo "$$(( ($$(stat -c %s $$1) + 512) / 1024 )) KiB"; }; \
	share() { sed -n "s/.* $$1=\([0-9]*\).*/\1/p" $(ROM_OUT)/ukiboot-share; }; \
	printf '%-44s %s\n' "kernel (build/bzImage)" "$$(kib $(ROM_OUT)/bzImage) (budget $$(( $(ROM_KERNEL_MAX) / 1024 )) KiB)" \
		"initramfs (build/ukiboot.cpio.xz)" "$$(kib $(ROM_OUT)/ukiboot.cpio.xz) (budget $$(( $(ROM_INITRAMFS_MAX) / 1024 )) KiB)" \
		"  uncompressed (build/ukiboot.cpio)" "$$(kib $(ROM_OUT)/ukiboot.cpio)" \
		"ROM payload (build/linuxboot.bzImage)" "$$(kib $(ROM_OUT)/linuxboot.bzImage) (budget $$(( $(ROM_MAX) / 1024 )) KiB)" \
		"ukiboot's share of the initramfs, xz" "$$(( ($$(share xz) + 512) / 1024 )) KiB" \
		"ukiboot's share, uncompressed" "$$(( ($$(share raw) + 512) / 1024 )) KiB"

# The ROM VM tests (integration/rom_test.go, rom_netboot_test.go): a test
# ROM built with the test-only keys of rom/testkeys (never for a real ROM),
# with the network boot tests' HTTPS CA as /etc/ukiboot/ca.pem, in
# build/romtest, booted with qemu -kernel; the second stage is Debian's
# kernel (make vm-assets). UKIBOOT_STAGE1 names the ROM's initramfs so that the test
# binary does not build the first stage of the other VM tests.
ROM_TEST_OUT := $(ROM_OUT)/romtest
rom-test: vm-assets
	@$(MAKE) --no-print-directory rom ROM_OUT=$(ROM_TEST_OUT) SYSTEM_TRUSTED_KEYS=rom/testkeys/kernel-signing.crt \
		DB=rom/testkeys/uki-signing.crt DBX= SBATLEVEL= CA=rom/testkeys/https-ca.crt UKIBOOT_ARGS= COMMANDS=
	UKIBOOT_INTEGRATION=1 UKIBOOT_REQUIRE_TOOLS=1 UKIBOOT_ROM=$(CURDIR)/$(ROM_TEST_OUT) \
		UKIBOOT_STAGE1=$(CURDIR)/$(ROM_TEST_OUT)/ukiboot.cpio.xz \
		$(ROM_GO) test -count=1 -timeout 20m -v -run '^TestROM' ./integration/

rom-clean:
	rm -rf $(ROM_OUT)

FORCE:

.DEFAULT_GOAL := $(ROM_MK_SAVED_GOAL)
