package sbat

// Real SBAT data, written out for the tests.

// SbatLevel payloads shim has shipped or documented (rhboot/shim
// SbatLevel_Variable.txt, the single source shim generates sbat_var.S
// from), by datestamp. shimLevelOriginal is SBAT_VAR_ORIGINAL from
// sbat_var_defs.h, what shim writes when nothing is revoked.
var shimLevels = []struct {
	name string
	text string
	want map[string]uint16
}{
	{"original 2021030218", "sbat,1,2021030218\n", map[string]uint16{"sbat": 1}},
	{"grub CVE-2022-28733 2022052400", "sbat,1,2022052400\ngrub,2\n", map[string]uint16{"sbat": 1, "grub": 2}},
	{"shim CVE-2022-28737 2022052400", "sbat,1,2022052400\nshim,2\ngrub,2\n", map[string]uint16{"sbat": 1, "shim": 2, "grub": 2}},
	{"grub CVE-2022-2601 2022111500", "sbat,1,2022111500\nshim,2\ngrub,3\n", map[string]uint16{"sbat": 1, "shim": 2, "grub": 3}},
	{"Debian grub.debian 2023012900", "sbat,1,2023012900\nshim,2\ngrub,3\ngrub.debian,4\n", map[string]uint16{"sbat": 1, "shim": 2, "grub": 3, "grub.debian": 4}},
	{"shim not exploitable 2023012950", "sbat,1,2023012950\nshim,3\ngrub,3\ngrub.debian,4\n", map[string]uint16{"sbat": 1, "shim": 3, "grub": 3, "grub.debian": 4}},
	{"grub ntfs CVE-2023-4692 2023091900", "sbat,1,2023091900\nshim,2\ngrub,4\n", map[string]uint16{"sbat": 1, "shim": 2, "grub": 4}},
	{"shim CVE-2023-40547 2024010900", "sbat,1,2024010900\nshim,4\ngrub,3\ngrub.debian,4\n", map[string]uint16{"sbat": 1, "shim": 4, "grub": 3, "grub.debian": 4}},
	{"peimage CVE-2024-2312 2024040900", "sbat,1,2024040900\nshim,4\ngrub,4\ngrub.peimage,2\n", map[string]uint16{"sbat": 1, "shim": 4, "grub": 4, "grub.peimage": 2}},
	{"grub February 2025 2025021800", "sbat,1,2025021800\nshim,4\ngrub,5\n", map[string]uint16{"sbat": 1, "shim": 4, "grub": 5}},
	{"grub.proxmox PSA-2025-00012-1 2025051000", "sbat,1,2025051000\nshim,4\ngrub,5\ngrub.proxmox,2\n", map[string]uint16{"sbat": 1, "shim": 4, "grub": 5, "grub.proxmox": 2}},
}

// SBAT_VAR_LATEST of a shim built with ENABLE_SHIM_DEVEL (sbat_var_defs.h).
const shimDevelLatest = "sbat,1,2022050100\ncomponent,2\nothercomponent,2\n"

// .sbat sections of real images.
const (
	// Debian 12's systemd-stub (systemd-boot-efi 252.39-1~deb12u2),
	// extracted with objcopy --only-section=.sbat: ends "\n\0".
	debianStubSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n\x00"
	// shim's own (data/sbat.csv).
	shimSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"shim,4,UEFI shim,shim,1,https://github.com/rhboot/shim\n"
	// What ukify (merge_sbat) writes into a UKI built from Debian's stub
	// with its default UKI entry: the stub's entries, then "uki", "\n\0".
	ukifySBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"systemd,1,The systemd Developers,systemd,252,https://systemd.io/\n" +
		"systemd.debian,1,Debian GNU/Linux,systemd,252.39-1~deb12u2,https://bugs.debian.org/\n" +
		"uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/\n\x00"
	// ukify's default for addons.
	ukifyAddonSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"uki-addon,1,UKI Addon,addon,1,https://www.freedesktop.org/software/systemd/man/latest/systemd-stub.html\n\x00"
	// A Debian GRUB from SBAT.md's examples, with the generations of
	// the grub.debian revocation (2023012900): grub.debian 3 missed the
	// patches.
	debianGrubSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"grub,3,Free Software Foundation,grub,2.06,https://www.gnu.org/software/grub/\n" +
		"grub.debian,3,Debian,grub2,2.06-3~deb11u5,https://tracker.debian.org/pkg/grub2\n"
	// RHEL's GRUB from SBAT.md: a "mail:" URL.
	rhelGrubSBAT = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/SBAT.md\n" +
		"grub,1,Free Software Foundation,grub,2.02,https://www.gnu.org/software/grub/\n" +
		"grub.fedora,1,Red Hat Enterprise Linux,grub2,2.02-0.34.fc24,mail:secalert@redhat.com\n" +
		"grub.rhel,1,Red Hat Enterprise Linux,grub2,2.02-0.34.el7_2,mail:secalert@redhat.com\n"
)
