//go:build linux

package main

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h), which the
// syscall package lacks.
const ipBindAddressNoPort = 24

// setDialSockopts prepares a client socket before it binds its source
// address: the port is then chosen at connect time, per destination, so
// that many connections from one source IP do not exhaust the ephemeral
// ports; rcvbuf > 0 shrinks the receive buffer (and so the TCP window) of
// a slow client.
func setDialSockopts(fd uintptr, rcvbuf int) error {
	if err := syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1); err != nil {
		return err
	}
	if rcvbuf > 0 {
		return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
	}
	return nil
}
