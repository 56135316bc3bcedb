package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
)

// DefaultNode returns a node name unique to this process: the host name
// and the port of addr ("web-1:4000") when addr has a port other than 0,
// else the host name, the process id and a random suffix
// ("web-1-4242-9f3a"). Two processes on one host cannot listen on one
// port, and host names differ between hosts (containers included), so
// the names of a cluster's live nodes differ; a node that restarts on its
// port gets its name back, which presence handles as a new replica.
func DefaultNode(addr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && port != "0" {
		return host + ":" + port
	}
	var b [2]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}
