//go:build linux

package netlab

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/dhtlab"
)

// StartDHT starts a Mainline DHT of n nodes on the lab's internet, as the public DHT is on the
// real one, and returns the nodes' HOST:PORT addresses (p2pcopy's --dht-bootstrap). The nodes
// run in the test process with their sockets in the internet's namespace; they stop when the
// test ends.
func (l *Lab) StartDHT(t testing.TB, n int) []string {
	t.Helper()
	inet := l.Internet()
	listen := func(network, addr string) (c net.PacketConn, err error) {
		err = inet.Run(nil, func() error {
			c, err = net.ListenPacket(network, addr)
			return err
		})
		return c, err
	}
	// Starting 20 nodes takes well under a second; the bound is for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dht, err := dhtlab.Start(ctx, n, listen, inet.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dht.Close)
	return dht.Addrs()
}
