package main

import (
	"fmt"
	"time"

	"github.com/u-root/u-root/pkg/watchdogd"
)

// watchdogdSocket is where u-root's watchdogd listens (watchdogd.New).
const watchdogdSocket = "/tmp/watchdogd"

// disarmWatchdogd asks u-root's watchdogd, through its socket uds, to
// disarm the watchdog, as u-root's kexec does. A daemon that does not
// answer within timeout must not keep the machine from booting.
func disarmWatchdogd(uds string, timeout time.Duration) error {
	c, err := watchdogd.NewClientFromUDS(uds)
	if err != nil {
		return fmt.Errorf("cannot reach watchdogd: %w", err)
	}
	defer c.Conn.Close()
	if err := c.Conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if err := c.Disarm(); err != nil {
		return fmt.Errorf("watchdogd at %s: %w", uds, err)
	}
	return nil
}
