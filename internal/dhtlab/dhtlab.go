// Package dhtlab starts a small, real Mainline DHT inside the test process:
// anacrolix/dht servers on one host address, all knowing each other, for
// tests that must not reach the public DHT.
package dhtlab

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"
)

// itemLifetime is BEP 44's 2 h. A ServerConfig built by hand has Exp 0, and
// then every stored item reads as expired at once.
const itemLifetime = 2 * time.Hour

// Network is a running local DHT.
type Network struct {
	servers []*dht.Server
	stores  []*bep44.Memory
	addrs   []string
}

// Start starts n DHT servers on host (e.g. "127.0.0.1", or an address inside
// a lab namespace), each on its own UDP port opened with listen (nil means
// net.ListenPacket), and lets each look itself up so that all know each
// other. Tests use n ≥ 20 so that "the 8 closest nodes" means something.
func Start(ctx context.Context, n int, listen func(network, addr string) (net.PacketConn, error), host string) (*Network, error) {
	if n < 1 {
		return nil, errors.New("dhtlab: need at least one node")
	}
	if listen == nil {
		listen = net.ListenPacket
	}
	nw := &Network{}
	var addrs []dht.Addr
	for range n {
		conn, err := listen("udp4", net.JoinHostPort(host, "0"))
		if err != nil {
			nw.Close()
			return nil, fmt.Errorf("dhtlab: listening on %s: %w", host, err)
		}
		a := conn.LocalAddr()
		addrs = append(addrs, dht.NewAddr(a))
		nw.addrs = append(nw.addrs, a.String())
		store := bep44.NewMemory()
		nw.stores = append(nw.stores, store)
		s, err := dht.NewServer(&dht.ServerConfig{
			Conn: conn,
			// Lab addresses need not be private, so BEP 42 IDs are not checked.
			NoSecurity: true,
			// Each server its own unlimited limiter: the library's default is
			// one 250/s limiter shared by every server in the process, which
			// silently drops replies past it.
			SendLimiter: rate.NewLimiter(rate.Inf, 0),
			WaitToReply: true,
			Store:       store,
			Exp:         itemLifetime,
			DefaultWant: []krpc.Want{krpc.WantNodes},
			// Only lab nodes: never the public routers.
			StartingNodes: func() ([]dht.Addr, error) { return addrs, nil },
			Logger:        discard(),
		})
		if err != nil {
			conn.Close()
			nw.Close()
			return nil, fmt.Errorf("dhtlab: starting a node: %w", err)
		}
		nw.servers = append(nw.servers, s)
	}
	// NewServer does not bootstrap by itself. Each lookup of its own ID
	// asks every other node, which fills the tables both ways.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range nw.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.BootstrapContext(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		nw.Close()
		return nil, fmt.Errorf("dhtlab: bootstrapping: %w", err)
	}
	for i, s := range nw.servers {
		if s.Stats().GoodNodes == 0 && n > 1 {
			nw.Close()
			return nil, fmt.Errorf("dhtlab: node %s knows no other node", nw.addrs[i])
		}
	}
	return nw, nil
}

// Addrs returns each node's HOST:PORT, for use as bootstrap addresses.
func (nw *Network) Addrs() []string { return append([]string(nil), nw.addrs...) }

// Holders returns how many nodes store an item under key and salt.
func (nw *Network) Holders(key ed25519.PublicKey, salt []byte) int {
	var k [32]byte
	copy(k[:], key)
	target := bep44.MakeMutableTarget(k, salt)
	n := 0
	for _, st := range nw.stores {
		if _, err := st.Get(target); err == nil {
			n++
		}
	}
	return n
}

// Close stops every node.
func (nw *Network) Close() {
	for _, s := range nw.servers {
		s.Close()
	}
}

func discard() alog.Logger {
	var l alog.Logger
	l.SetHandlers(alog.DiscardHandler)
	return l
}
