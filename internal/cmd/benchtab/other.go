//go:build !linux

package main

import "errors"

func sampleMemory([]string) (memPeak, error) { return memPeak{}, errors.New("Linux only") }

func firstFrame(string, string, int) (float64, error) { return 0, errors.New("Linux only") }

func fileDev(string) (string, error) { return "", errors.New("Linux only") }
