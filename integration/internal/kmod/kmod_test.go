package kmod

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/fs/nls/nls_iso8859-1.ko":     "nls_iso8859_1",
		"kernel/lib/crc-t10dif.ko.xz":        "crc_t10dif",
		"kernel/drivers/block/virtio_blk.ko": "virtio_blk",
		"ext4.ko.zst":                        "ext4",
		"crc64-rocksoft":                     "crc64_rocksoft",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
	if IsModule("modules.dep") || !IsModule("a.ko.xz") || !IsModule("a.ko") {
		t.Error("IsModule")
	}
}

func TestModInfoDepends(t *testing.T) {
	info, err := ModInfo(bytes.NewReader(FakeModule("license=GPL", "depends=crc-t10dif,scsi_mod", "name=sd_mod")))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"license=GPL", "depends=crc-t10dif,scsi_mod", "name=sd_mod"}; !reflect.DeepEqual(info, want) {
		t.Errorf("ModInfo = %q, want %q", info, want)
	}
	if got, want := Depends(info), []string{"crc_t10dif", "scsi_mod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Depends = %q, want %q", got, want)
	}
	if got := Depends([]string{"depends="}); len(got) != 0 {
		t.Errorf("Depends(empty) = %q", got)
	}
	if _, err := ModInfo(bytes.NewReader([]byte("not an ELF file"))); err == nil {
		t.Error("ModInfo of garbage: no error")
	}
}

const depFile = `kernel/drivers/ata/ahci.ko: kernel/drivers/ata/libahci.ko kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libahci.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/fs/fat/fat.ko:
kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko
`

func TestDep(t *testing.T) {
	d, err := ParseDep(strings.NewReader("# comment\n\n" + depFile))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := d.Format(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != depFile {
		t.Errorf("Format:\n%s\nwant:\n%s", b.String(), depFile)
	}
	order, err := d.LoadOrder()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/drivers/scsi/scsi_common.ko",
		"kernel/drivers/scsi/scsi_mod.ko",
		"kernel/drivers/ata/libata.ko",
		"kernel/drivers/ata/libahci.ko",
		"kernel/drivers/ata/ahci.ko",
		"kernel/fs/fat/fat.ko",
		"kernel/fs/fat/vfat.ko",
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("LoadOrder:\n%q\nwant\n%q", order, want)
	}
}

func TestDepErrors(t *testing.T) {
	if _, err := ParseDep(strings.NewReader("no colon here\n")); err == nil {
		t.Error("ParseDep without colon: no error")
	}
	if _, err := (Dep{"a.ko": {"b.ko"}}).LoadOrder(); err == nil || !strings.Contains(err.Error(), "b.ko") {
		t.Errorf("missing dependency: %v", err)
	}
	if _, err := (Dep{"a.ko": {"b.ko"}, "b.ko": {"a.ko"}}).LoadOrder(); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}
