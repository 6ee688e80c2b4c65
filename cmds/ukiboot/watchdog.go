package main

// watchdogEnv is the variable u-root's kexec reads: when it is "1", the
// watchdog daemon (u-root's watchdogd) is disarmed just before the reboot
// into the loaded kernel, so that a watchdog the firmware's userspace kept
// alive does not reset the machine while the next kernel starts.
const watchdogEnv = "UROOT_KEXEC_DISARM_WATCHDOG"

// watchdogDisarmer returns disarm when getenv says to disarm the watchdog
// before a kexec reboot, nil otherwise (system.disarmWatchdog).
func watchdogDisarmer(getenv func(string) string, disarm func() error) func() error {
	if getenv(watchdogEnv) != "1" {
		return nil
	}
	return disarm
}

// disarmWatchdog disarms the watchdog daemon when the system says to
// (UROOT_KEXEC_DISARM_WATCHDOG=1). It runs only right before the reboot:
// never with -dry-run, and not with -no-reboot, where the machine keeps
// running this userspace and would be left unwatched. A failure is logged
// and the reboot goes on, as u-root's kexec does: the loaded kernel is
// started rather than stopping on a machine that can boot.
func (p *pipeline) disarmWatchdog() {
	if p.sys.disarmWatchdog == nil {
		return
	}
	if err := p.sys.disarmWatchdog(); err != nil {
		p.logf("%s=1 but the watchdog daemon was not disarmed: %v; starting the kernel anyway (as u-root's kexec does): it must take over the watchdog before it expires", watchdogEnv, err)
		return
	}
	p.logf("disarmed the watchdog daemon (%s=1)", watchdogEnv)
}
