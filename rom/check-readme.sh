#!/bin/bash
# rom/check-readme.sh: follow the README's "Build a ROM" recipe as a new
# user would, and boot what it builds (make rom-check).
#
# The recipe is the README's ```sh blocks that follow a line
# "<!-- rom-check -->", run verbatim, in order, by one bash -e, in a fresh
# clone of this repository's HEAD: uncommitted changes (to the README or
# anything else) are not what a user clones, so they are not checked:
# commit first. The kernel cache ($KERNEL_CACHE, default
# ~/.cache/ukiboot/kernel) and the Go module cache are shared with this
# tree, so a kernel already built with the same configuration, source and
# keys is not built again.
#
# Then build/linuxboot.bzImage is booted in qemu with -kernel alone, as
# coreboot would start it (no firmware, no initrd, no disk), with
# uroot.uinitargs=-version, by a VM test on the integration harness
# (vmtest): u-root's init must start ukiboot, whose version line must
# appear on the serial console (TCG, or KVM with UKIBOOT_KVM=1). Any
# failure exits non-zero and says which step.
set -euo pipefail

top=$(git rev-parse --show-toplevel)
readme=README.md
work=$(mktemp -d /tmp/ukiboot-rom-check.XXXXXX)
cleanup() {
	if [ -n "${ROM_CHECK_KEEP:-}" ]; then echo "rom-check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "rom-check: cloning $(git -C "$top" rev-parse --short HEAD) of $top into $work/ukiboot"
if [ -n "$(git -C "$top" status --porcelain -- "$readme")" ]; then
	echo "rom-check: note: $readme has uncommitted changes; the committed recipe is checked"
fi
head=$(git -C "$top" rev-parse HEAD)
git clone -q "$top" "$work/ukiboot"
cd "$work/ukiboot"
# HEAD itself, also when it is detached (CI checks out a merge commit).
git checkout -q --detach "$head"

# The marked blocks: a "<!-- rom-check -->" line, then (blank lines
# allowed) a ```sh fence; the block ends at the next ``` line.
awk -v readme="$readme" '
	/^<!-- rom-check -->$/ { marked = 1; next }
	marked && /^[[:space:]]*$/ { next }
	marked && /^```sh$/ { inblock = 1; marked = 0; n++; printf "# %s, block %d (line %d)\n", readme, n, NR; next }
	marked { printf "%s:%d: <!-- rom-check --> must be followed by a ```sh block\n", readme, NR > "/dev/stderr"; bad = 1; marked = 0 }
	inblock && /^```$/ { inblock = 0; next }
	inblock { print }
	END {
		if (inblock) { printf "%s: a rom-check block is not closed\n", readme > "/dev/stderr"; exit 1 }
		if (bad) exit 1
		if (n == 0) { printf "%s: no block marked <!-- rom-check -->\n", readme > "/dev/stderr"; exit 1 }
	}' "$readme" > "$work/recipe.sh"
echo "rom-check: the recipe ($(grep -c '^# README.md, block' "$work/recipe.sh") blocks of $readme):"
sed 's/^/  | /' "$work/recipe.sh"

start=$(date +%s)
if ! bash -e "$work/recipe.sh"; then
	echo "rom-check: FAIL: the README's \"Build a ROM\" recipe failed (above)"
	exit 1
fi
echo "rom-check: the recipe ran in $(( $(date +%s) - start )) s"
rom=build/linuxboot.bzImage
[ -f "$rom" ] || { echo "rom-check: FAIL: the recipe did not build $rom"; exit 1; }
echo "rom-check: $rom: $(stat -c %s "$rom") bytes, sha256 $(sha256sum "$rom" | cut -d' ' -f1)"

# The boot: integration.TestROMPayloadAnswers, on the harness every VM
# test uses (vmtest), with the payload alone (qemu -kernel, as coreboot
# starts it) and uroot.uinitargs=-version; it passes when ukiboot's version
# line appears on the serial console. UKIBOOT_STAGE1 names an image so that
# the test process does not build the first stage it does not use.
echo "rom-check: booting $rom with qemu -kernel (integration.TestROMPayloadAnswers)"
if ! UKIBOOT_INTEGRATION=1 UKIBOOT_ROM_PAYLOAD="$PWD/$rom" UKIBOOT_STAGE1="$PWD/build/ukiboot.cpio.xz" \
	go test -count=1 -v -timeout 10m -run '^TestROMPayloadAnswers$' ./integration/; then
	echo "rom-check: FAIL: ukiboot did not answer in the ROM (above)"
	exit 1
fi
echo "rom-check: ok"
