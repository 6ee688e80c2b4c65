# make rom-check: the README's "Build a ROM" recipe (its ```sh blocks
# marked <!-- rom-check -->), run verbatim in a fresh clone of HEAD, then
# a qemu boot (-kernel only, as coreboot starts it) of the
# build/linuxboot.bzImage it built, which must reach ukiboot. Uncommitted
# changes are not checked: a user clones what is committed. The kernel
# cache is shared, so a kernel built with the same configuration, source
# and keys is not built again. Included by the main Makefile; see
# rom/check-readme.sh.

.PHONY: rom-check

rom-check: vm-deps
	rom/check-readme.sh
