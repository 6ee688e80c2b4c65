# The measured-boot end-to-end fixture (issue 13): an initrd with a real
# systemd as PID 1, cryptsetup and TPM2 support, built by Debian's dracut
# for the kernel of mk/vm.mk, which integration/e2e_luks_test.go boots
# through ukiboot to unlock a LUKS2 volume sealed to the TPM. Included by
# the main Makefile; also works alone from the top of the repository
# (after make -f mk/vm.mk vm-assets): make -f mk/e2e.mk e2e-assets
#
#   e2e-deps     install dracut and the tools below (apt-get, only what is
#                missing)
#   e2e-assets   e2e-deps and out/e2e/initrd.img, rebuilt only when its
#                inputs change (out/e2e/initrd.key: the kernel release, the
#                versions of the packages it is made of, the dracut options,
#                the files of integration/e2e/initrd and of contrib's dracut
#                module)
#   e2e-clean    remove out/e2e
#
# Nothing is downloaded but Debian packages (apt); the tests never build
# it (no network, no root needed at test time).

E2E_MK_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),1,)
E2E_MK_SAVED_GOAL := $(.DEFAULT_GOAL)

E2E_OUT ?= out
E2E_DIR := $(E2E_OUT)/e2e
E2E_KERNEL_DIR := $(E2E_OUT)/kernel
# The test's own files in the initrd: a oneshot unit after
# cryptsetup.target that prints the PCRs and enrolls, or reports the unlock.
E2E_HOOKS := integration/e2e/initrd
# contrib's dracut module, which appends ukiboot's /.extra/tpm2-measure.log
# to /run/log/systemd/tpm2-measure.log, installed as contrib/README.md
# tells users to, but into a copy of dracut's modules (dracutbasedir) under
# out/e2e rather than into the host's /usr/lib/dracut.
E2E_CONTRIB := contrib/ukiboot-measure-log contrib/systemd/ukiboot-measure-log.service \
	contrib/dracut/90ukiboot-measure-log/module-setup.sh
E2E_DRACUT_BASE := $(E2E_DIR)/dracut
# dracut-core (not dracut, which would replace initramfs-tools), the
# systemd-cryptsetup of systemd (in the systemd package on bookworm),
# cryptsetup for luksFormat on the host and luksDump/open in the initrd,
# tpm2-tools for dracut's tpm2-tss module (it requires the tpm2 binary)
# and the TPM2 libraries systemd loads, kmod's depmod for the unpacked
# kernel's modules, swtpm_setup (swtpm-tools) for the tests' TPM state.
E2E_APT_PACKAGES ?= dracut-core systemd cryptsetup-bin dmsetup tpm2-tools libtss2-esys-3.0.2-0 \
	libtss2-rc0 libtss2-mu0 libtss2-tctildr0 libtss2-tcti-device0 kmod zstd swtpm swtpm-tools
# What the initrd is made of, as dracut modules: systemd as PID 1 with
# udev, systemd-cryptsetup (crypt) and the TPM2 libraries (tpm2-tss).
E2E_DRACUT_MODULES := systemd systemd-initrd dracut-systemd crypt tpm2-tss base udev-rules
E2E_DRACUT_DRIVERS := virtio_pci virtio_blk dm_crypt
E2E_DRACUT_INSTALL := cryptsetup systemd-cryptenroll dd head grep sleep sha256sum base64 stat
# zstd: a third of the bytes for ukiboot to read and hash (under TCG about
# 2.5 MB/s), which the kernel decompresses in a second or two.
E2E_DRACUT_ARGS := --force --no-hostonly --no-hostonly-cmdline --zstd \
	--modules "$(E2E_DRACUT_MODULES)" --omit "plymouth i18n" \
	--drivers "$(E2E_DRACUT_DRIVERS)" --install "$(E2E_DRACUT_INSTALL)" \
	--include $(E2E_HOOKS) / --add ukiboot-measure-log

include mk/apt.mk

.PHONY: e2e-deps e2e-assets e2e-clean

e2e-deps:
	$(call apt-install,$(E2E_APT_PACKAGES))

# The key is checked on every run (a few dpkg-query and sha256sum calls);
# dracut runs only when it changed. The kernel's modules are hard-linked
# into out/e2e/kmod and indexed there with depmod (mk/vm.mk unpacks them
# without), so out/kernel stays as vm.mk left it.
e2e-assets: e2e-deps
	@set -e; \
	test -f $(E2E_KERNEL_DIR)/version || { echo "$(E2E_KERNEL_DIR)/version missing: run make vm-assets first"; exit 1; }; \
	kver=$$(cat $(E2E_KERNEL_DIR)/version); \
	key=$$( { echo "kernel $$kver"; \
		dpkg-query -W -f='$${Package} $${Version}\n' $(E2E_APT_PACKAGES) libcryptsetup12; \
		echo 'dracut $(E2E_DRACUT_ARGS)'; \
		(cd $(E2E_HOOKS) && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a %F %N' && \
			find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); \
		stat -c '%n %a' $(E2E_CONTRIB); sha256sum $(E2E_CONTRIB); \
		} | sha256sum | cut -c1-16); \
	if [ -f $(E2E_DIR)/initrd.img ] && [ "$$(cat $(E2E_DIR)/initrd.key 2>/dev/null)" = "$$key" ]; then \
		echo "$(E2E_DIR)/initrd.img is up to date (key $$key)"; exit 0; \
	fi; \
	rm -rf $(E2E_DIR); mkdir -p $(E2E_DIR)/kmod/lib/modules; \
	cp -al $(E2E_KERNEL_DIR)/lib/modules/$$kver $(E2E_DIR)/kmod/lib/modules/; \
	depmod -b $(E2E_DIR)/kmod $$kver 2>$(E2E_DIR)/depmod.log || { cat $(E2E_DIR)/depmod.log; exit 1; }; \
	cp -a /usr/lib/dracut $(E2E_DRACUT_BASE); \
	d=$(E2E_DRACUT_BASE)/modules.d/90ukiboot-measure-log; \
	install -D -m 0755 contrib/dracut/90ukiboot-measure-log/module-setup.sh $$d/module-setup.sh; \
	install -D -m 0755 contrib/ukiboot-measure-log $$d/ukiboot-measure-log; \
	install -D -m 0644 contrib/systemd/ukiboot-measure-log.service $$d/ukiboot-measure-log.service; \
	start=$$(date +%s.%N); \
	dracutbasedir=$(CURDIR)/$(E2E_DRACUT_BASE) dracut $(E2E_DRACUT_ARGS) --kver $$kver --kmoddir $(CURDIR)/$(E2E_DIR)/kmod/lib/modules/$$kver \
		$(E2E_DIR)/initrd.img.tmp >$(E2E_DIR)/dracut.log 2>&1 || { tail -n 40 $(E2E_DIR)/dracut.log; exit 1; }; \
	end=$$(date +%s.%N); \
	chmod 644 $(E2E_DIR)/initrd.img.tmp; \
	mv $(E2E_DIR)/initrd.img.tmp $(E2E_DIR)/initrd.img; \
	echo "$$key" > $(E2E_DIR)/initrd.key; \
	rm -rf $(E2E_DIR)/kmod $(E2E_DRACUT_BASE); \
	echo "$(E2E_DIR)/initrd.img: $$(wc -c < $(E2E_DIR)/initrd.img) bytes, dracut took $$(awk "BEGIN { printf \"%.1f\", $$end - $$start }") s (key $$key)"

e2e-clean:
	rm -rf $(E2E_DIR)

# Included: leave the main Makefile's default goal alone. Alone: e2e-assets.
ifeq ($(E2E_MK_STANDALONE),1)
.DEFAULT_GOAL := e2e-assets
else
.DEFAULT_GOAL := $(E2E_MK_SAVED_GOAL)
endif
