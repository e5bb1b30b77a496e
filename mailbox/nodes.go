package mailbox

import (
	"context"
	"net/netip"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/int160"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	"github.com/anacrolix/dht/v2/types"
	"github.com/anacrolix/generics"
)

// startLookup starts a BEP 44 get lookup towards target that keeps the k
// closest nodes which gave a write token. onReply sees every answer.
//
// Every address entering the lookup is unmapped first: the library sees an
// IPv4 node both as a.b.c.d and as ::ffff:a.b.c.d, and would otherwise ask it
// twice and count it twice among the closest.
func (m *Mailbox) startLookup(target bep44.Target, k int, seeds []types.AddrMaybeId,
	onReply func(krpc.NodeAddr, *krpc.Return)) *traversal.Operation {
	op := traversal.Start(traversal.OperationInput{
		Target: target,
		Alpha:  alpha,
		K:      k,
		DoQuery: func(ctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
			res := m.s.Get(ctx, dht.NewAddr(addr.UDP()), target, nil, dht.QueryRateLimiting{})
			r := res.Reply.R
			if r == nil {
				return traversal.QueryResult{}
			}
			onReply(addr, r)
			qr := res.TraversalQueryResult(addr)
			qr.Nodes = m.cleanNodes(r.Nodes, r.Nodes6)
			qr.Nodes6 = nil
			return qr
		},
		NodeFilter: func(n types.AddrMaybeId) bool {
			return m.sameFamily(n.Addr.Addr()) && m.s.TraversalNodeFilter(n)
		},
		// Only a node that gave a token can take a put.
		DataFilter: func(data any) bool {
			_, ok := data.(string)
			return ok
		},
	})
	op.AddNodes(m.cleanSeeds(seeds))
	return op
}

// cleanNodes unmaps the nodes of a reply and keeps those of our family.
func (m *Mailbox) cleanNodes(lists ...[]krpc.NodeInfo) []krpc.NodeInfo {
	var out []krpc.NodeInfo
	for _, l := range lists {
		for _, n := range l {
			ap := n.Addr.ToNodeAddrPort()
			ap.AddrPort = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			if !m.sameFamily(ap.Addr()) {
				continue
			}
			n.Addr = ap.ToNodeAddr()
			out = append(out, n)
		}
	}
	return out
}

// cleanSeeds returns seeds, the nodes in the library's table and the
// bootstrap nodes, unmapped and without repeats.
func (m *Mailbox) cleanSeeds(seeds []types.AddrMaybeId) []types.AddrMaybeId {
	table, _ := m.s.TraversalStartingNodes() // falls back on the bootstrap nodes itself
	all := append(append([]types.AddrMaybeId(nil), seeds...), table...)
	for _, ap := range m.bootstrap {
		all = append(all, types.AddrMaybeId{Addr: krpc.NodeAddrPort{AddrPort: ap}})
	}
	seen := make(map[netip.AddrPort]bool, len(all))
	out := all[:0]
	for _, n := range all {
		n.Addr.AddrPort = netip.AddrPortFrom(n.Addr.Addr().Unmap(), n.Addr.Port())
		if seen[n.Addr.AddrPort] {
			continue
		}
		seen[n.Addr.AddrPort] = true
		out = append(out, n)
	}
	return out
}

func (m *Mailbox) sameFamily(a netip.Addr) bool {
	a = a.Unmap()
	if m.network == "udp6" {
		return a.Is6()
	}
	return a.Is4()
}

func someID(id krpc.ID) generics.Option[int160.T] {
	return generics.Some(id.Int160())
}
