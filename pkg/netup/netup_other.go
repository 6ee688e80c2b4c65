//go:build !linux

package netup

import (
	"context"
	"errors"
)

// Up is only implemented on Linux.
func Up(ctx context.Context, o Options) error {
	return errors.New("network: bringing the network up needs Linux; configure it before running ukiboot")
}
