//go:build !linux

package main

// setDialSockopts does nothing off Linux: the tool measures Linux servers
// (it reads /proc) and elsewhere only builds.
func setDialSockopts(fd uintptr, rcvbuf int) error { return nil }
