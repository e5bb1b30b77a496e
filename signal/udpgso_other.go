//go:build !linux

package signal

import (
	"net"

	"github.com/pion/transport/v5"
)

// withOffload returns c itself: UDP_SEGMENT and UDP_GRO are Linux's.
func withOffload(c *net.UDPConn) transport.UDPConn { return c }
