//go:build !linux

package bls

func clearImmutable(string) error { return nil }
