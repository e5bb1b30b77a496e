package dhtlab

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// Item is what a Forger hands out: any value, key, signature and sequence
// number, valid or not.
type Item struct {
	V   []byte
	K   [32]byte
	Sig [64]byte
	Seq int64
}

// Forger is an attacking DHT node: it answers every BEP 44 get with an item
// the test made, claims an ID right next to the target so that lookups keep
// it among the closest nodes, and points at the honest nodes so that lookups
// go on. It accepts every put without storing anything.
type Forger struct {
	conn   net.PacketConn
	item   func(target [20]byte) Item
	nodes  krpc.CompactIPv4NodeInfo
	served atomic.Int64
	wg     sync.WaitGroup
}

// StartForger starts a Forger on host with listen (nil means
// net.ListenPacket); item chooses the forged item for each get. Its replies
// list the nodes of nw.
func StartForger(listen func(network, addr string) (net.PacketConn, error), host string,
	nw *Network, item func(target [20]byte) Item) (*Forger, error) {
	if listen == nil {
		listen = net.ListenPacket
	}
	conn, err := listen("udp4", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("dhtlab: listening on %s: %w", host, err)
	}
	f := &Forger{conn: conn, item: item}
	for _, s := range nw.servers {
		ua, ok := s.Addr().(*net.UDPAddr)
		if !ok {
			continue
		}
		var ni krpc.NodeInfo
		ni.ID = s.ID()
		ni.Addr.FromUDPAddr(ua)
		f.nodes = append(f.nodes, ni)
	}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// Addr returns the Forger's HOST:PORT.
func (f *Forger) Addr() string { return f.conn.LocalAddr().String() }

// Served returns how many gets the Forger answered with a forged item.
func (f *Forger) Served() int { return int(f.served.Load()) }

// Close stops the Forger.
func (f *Forger) Close() {
	f.conn.Close()
	f.wg.Wait()
}

func (f *Forger) serve() {
	defer f.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := f.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		var q krpc.Msg
		if bencode.Unmarshal(buf[:n], &q) != nil || q.Y != "q" || q.A == nil {
			continue
		}
		r := krpc.Return{ID: q.A.ID, Nodes: f.nodes}
		r.ID[19] ^= 1 // next to whatever the asker is near
		if q.Q == "get" {
			r.ID = q.A.Target
			r.ID[19] ^= 1
			token := "forged"
			r.Token = &token
			it := f.item(q.A.Target)
			v, err := bencode.Marshal(it.V)
			if err != nil {
				continue
			}
			r.V, r.K, r.Sig, r.Seq = v, it.K, it.Sig, &it.Seq
			f.served.Add(1)
		}
		reply, err := bencode.Marshal(krpc.Msg{T: q.T, Y: "r", R: &r})
		if err != nil {
			continue
		}
		f.conn.WriteTo(reply, from)
	}
}
