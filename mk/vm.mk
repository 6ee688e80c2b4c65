# VM test assets for the integration tests (integration/, go test with
# UKIBOOT_INTEGRATION=1). Included by the main Makefile; also works alone
# from the top of the repository: make -f mk/vm.mk vm-assets
#
#   vm-deps        install qemu and the other Debian packages below (apt-get,
#                  only what is missing)
#   vm-assets      vm-deps and the Debian kernel:
#   out/kernel/    Debian's linux-image-amd64 kernel, unpacked, not installed:
#                  vmlinuz, version, lib/modules/VERSION/..., and vmlinux:
#                  the same kernel uncompressed, which qemu boots through
#                  its PVH entry without the ~4 s xz decompression of TCG
#   vm-test        the integration tests (on vmtest; they build the
#                  first-stage u-root initramfs themselves, with vmtest's
#                  quimage: see integration/stage1.go)
#   vm-clean       remove all of the above from out/
#
# Nothing is downloaded but Debian packages (apt) and Go modules (proxy).

VM_MK_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),1,)
VM_MK_SAVED_GOAL := $(.DEFAULT_GOAL)

VM_OUT ?= out
VM_KERNEL_DIR := $(VM_OUT)/kernel
VM_DEBS_DIR := $(VM_OUT)/debs
# qemu, OVMF and swtpm (a TPM for the VMs; swtpm-tools' swtpm_setup picks its PCR banks); xz to unpack the kernel's payload; binutils and systemd-boot-efi
# for the UKIs the tests build (ukitest.ObjcopyUKI).
VM_APT_PACKAGES ?= qemu-system-x86 ovmf swtpm swtpm-tools openssl sbsigntool xz-utils binutils systemd-boot-efi
# The Debian meta package whose kernel the tests boot.
VM_KERNEL_META ?= linux-image-amd64

VM_GO := $(or $(shell command -v $(or $(GO),go) 2>/dev/null),/usr/local/go/bin/go)
include mk/apt.mk
# The tests build the first stage with go (mkuimage as a library): put
# this go first in their PATH.
VM_GOENV := PATH="$(dir $(VM_GO)):$$PATH"

.PHONY: vm-deps vm-assets vm-test vm-clean

vm-assets: vm-deps $(VM_KERNEL_DIR)/vmlinuz $(VM_KERNEL_DIR)/vmlinux

vm-deps:
	$(call apt-install,$(VM_APT_PACKAGES))

# The kernel package that $(VM_KERNEL_META) depends on, downloaded and
# unpacked into out/kernel; depmod is not needed (the tests read .modinfo:
# integration/internal/kmod).
# apt-get update runs only when apt does not know the package or the
# download fails.
$(VM_KERNEL_DIR)/vmlinuz:
	@set -e; \
	resolve() { apt-cache depends $(VM_KERNEL_META) 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1; }; \
	pkg=$$(resolve); \
	if [ -z "$$pkg" ]; then $(APT_SUDO) apt-get update -q; pkg=$$(resolve); fi; \
	if [ -z "$$pkg" ]; then echo "cannot resolve the package of $(VM_KERNEL_META)"; exit 1; fi; \
	echo "kernel package: $$pkg"; \
	$(call apt-download,$(VM_DEBS_DIR),$${pkg}); \
	rm -rf $(VM_KERNEL_DIR).tmp; \
	dpkg-deb -x $$deb $(VM_KERNEL_DIR).tmp; \
	ver=$$(ls $(VM_KERNEL_DIR).tmp/lib/modules | head -n1); \
	test -n "$$ver" && test -f $(VM_KERNEL_DIR).tmp/boot/vmlinuz-$$ver; \
	echo $$ver > $(VM_KERNEL_DIR).tmp/version; \
	ln -s boot/vmlinuz-$$ver $(VM_KERNEL_DIR).tmp/vmlinuz; \
	rm -rf $(VM_KERNEL_DIR); \
	mv $(VM_KERNEL_DIR).tmp $(VM_KERNEL_DIR); \
	echo "kernel $$ver in $(VM_KERNEL_DIR)"

$(VM_KERNEL_DIR)/version: $(VM_KERNEL_DIR)/vmlinuz

# The ELF kernel inside the bzImage: its payload (x86 boot protocol:
# setup_sects at 0x1f1, payload_offset and payload_length at 0x248, 0x24c)
# decompressed. Debian's has the PVH note, so qemu -kernel boots it directly.
$(VM_KERNEL_DIR)/vmlinux: $(VM_KERNEL_DIR)/vmlinuz
	@set -e; \
	k=$(VM_KERNEL_DIR)/vmlinuz; \
	setup=$$(od -An -tu1 -j $$((0x1f1)) -N1 $$k | tr -d ' '); \
	[ "$$setup" != 0 ] || setup=4; \
	off=$$(od -An -tu4 -j $$((0x248)) -N4 $$k | tr -d ' '); \
	len=$$(od -An -tu4 -j $$((0x24c)) -N4 $$k | tr -d ' '); \
	start=$$(( (setup + 1) * 512 + off )); \
	magic=$$(od -An -tx1 -j $$start -N4 $$k | tr -d ' '); \
	case $$magic in \
	fd377a58) dec="xz -dc --single-stream";; \
	28b52ffd) dec="zstd -dc";; \
	1f8b*) dec="gzip -dc";; \
	*) echo "$$k: unknown payload compression (magic $$magic)"; exit 1;; \
	esac; \
	tail -c +$$((start + 1)) $$k | head -c $$len | $$dec > $@.tmp; \
	[ "$$(od -An -tx1 -N4 $@.tmp | tr -d ' ')" = 7f454c46 ] || { echo "$@: not an ELF file"; exit 1; }; \
	mv $@.tmp $@; \
	echo "$@: $$(wc -c < $@) bytes"

vm-test: vm-assets
	$(VM_GOENV) UKIBOOT_INTEGRATION=1 $(VM_GO) test -count=1 -v ./integration/

vm-clean:
	rm -rf $(VM_KERNEL_DIR) $(VM_KERNEL_DIR).tmp $(VM_DEBS_DIR) $(VM_OUT)/stage1.cpio \
		$(VM_OUT)/stage1-modules $(VM_OUT)/stage1-modules.txt $(VM_OUT)/vmlogs

# Included: leave the main Makefile's default goal alone. Alone: vm-assets.
ifeq ($(VM_MK_STANDALONE),1)
.DEFAULT_GOAL := vm-assets
else
.DEFAULT_GOAL := $(VM_MK_SAVED_GOAL)
endif
