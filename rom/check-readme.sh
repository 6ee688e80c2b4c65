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
# uroot.uinitargs=-version: u-root's init must start ukiboot, whose
# version line must appear on the serial console within $ROM_CHECK_TIMEOUT
# seconds (default 180; TCG, or KVM with UKIBOOT_KVM=1). Any failure
# exits non-zero and says which step.
set -euo pipefail

top=$(git rev-parse --show-toplevel)
readme=README.md
timeout=${ROM_CHECK_TIMEOUT:-180}
work=$(mktemp -d /tmp/ukiboot-rom-check.XXXXXX)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
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

# TCG unless UKIBOOT_KVM=1, as in the integration tests: KVM hangs under
# nested virtualisation on some machines.
accel=tcg
if [ "${UKIBOOT_KVM:-}" = 1 ]; then accel=kvm; fi
log=$work/serial.log
: > "$log"
qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -nodefaults -display none -no-reboot \
	-serial "file:$log" -kernel "$rom" \
	-append "console=ttyS0,115200 panic=-1 uroot.uinitargs=-version" &
qpid=$!
echo "rom-check: booting $rom (qemu -kernel, $accel), waiting up to $timeout s for ukiboot -version"
# ukiboot's version line ("ukiboot VERSION ..."; its log lines are
# "ukiboot: ...").
answered() { tr -d '\r' < "$log" | grep -E '^ukiboot [^:]' | head -n1 || true; }
for ((i = 0; i < timeout; i++)); do
	running=0
	kill -0 "$qpid" 2>/dev/null && running=1
	line=$(answered)
	if [ -n "$line" ]; then
		echo "rom-check: ok: ukiboot ran in the ROM after $i s: $line"
		exit 0
	fi
	[ $running = 1 ] || break
	sleep 1
done
echo "rom-check: FAIL: no ukiboot version line on the serial console; its last lines:"
tr -d '\r' < "$log" | tail -n 30
exit 1
