#!/bin/bash
# dracut module: append the TPM event log that ukiboot hands over
# (/.extra/tpm2-measure.log) to systemd's log early in the initrd. Install
# (contrib/README.md of ukiboot): this file, ukiboot-measure-log and
# ukiboot-measure-log.service in /usr/lib/dracut/modules.d/90ukiboot-measure-log/.

check() {
    require_binaries head od tr flock || return 1
    return 0
}

depends() {
    echo systemd
    return 0
}

install() {
    inst_script "$moddir/ukiboot-measure-log" /usr/lib/ukiboot/ukiboot-measure-log
    inst_simple "$moddir/ukiboot-measure-log.service" "$systemdsystemunitdir/ukiboot-measure-log.service"
    inst_multiple head od tr flock chmod cat mkdir sync
    $SYSTEMCTL -q --root "$initdir" add-wants sysinit.target ukiboot-measure-log.service
}
