// Package mailbox stores and fetches one small signed value on the BitTorrent
// Mainline DHT as a BEP 44 mutable item: a value of at most [MaxValueSize]
// bytes under an ed25519 key and a salt. Whoever holds the private key can put
// it; whoever knows the public key and salt can get it, and gets only a value
// whose signature checks. The package knows nothing of what the value means.
//
// It uses github.com/anacrolix/dht/v2, the maintained Go implementation of
// BEP 5 and BEP 44 (the DHT of anacrolix/torrent).
package mailbox

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"
)

// DefaultBootstrap returns the usual public Mainline routers, the nodes every
// BitTorrent client starts from.
func DefaultBootstrap() []string {
	return []string{
		"router.bittorrent.com:6881",
		"dht.transmissionbt.com:6881",
		"router.utorrent.com:6881",
		"dht.libtorrent.org:25401",
	}
}

// Config says where to start and how to open the socket. The zero value uses
// the public routers and the host's network.
type Config struct {
	// Bootstrap lists HOST:PORT of nodes to start from; empty means
	// DefaultBootstrap().
	Bootstrap []string
	// Listen opens the UDP socket; nil means net.ListenPacket. Tests use it
	// to open the socket inside a network namespace.
	Listen func(network, address string) (net.PacketConn, error)
	// Logf, if set, receives debug lines.
	Logf func(format string, args ...any)
}

const (
	// queryTimeout is how long a query waits for its answer. DHT round trips
	// are 0.05–0.5 s; the library's 2 s suits a long-running torrent client,
	// but here a person waits, and Get re-asks anyway.
	queryTimeout = time.Second
	// bootstrapSends is how often Open asks each bootstrap node (queryTimeout
	// apart) before it gives up: three sends ride out two lost datagrams and
	// bound ErrUnreachable to ~3 s.
	bootstrapSends = 3
	// sendRate and sendBurst cap this node's outgoing packets: the library's
	// own default (250/s, burst 25, from anacrolix/torrent#1005), but per
	// Mailbox rather than one limiter shared by the whole process.
	sendRate  = 250
	sendBurst = 25
	// itemLifetime is how long our node keeps items it stores (BEP 44's 2 h);
	// the library leaves it 0 — every item instantly expired — unless set.
	itemLifetime = 2 * time.Hour
)

// Mailbox is a read-only (BEP 43) DHT node that puts and gets BEP 44 items.
// Its methods are safe for concurrent use.
type Mailbox struct {
	s         *dht.Server
	network   string // "udp4" or "udp6": the DHT of that family
	want      []krpc.Want
	bootstrap []netip.AddrPort
	logf      func(format string, args ...any)

	closing   context.Context // ends when Close is called
	stop      context.CancelFunc
	wg        sync.WaitGroup // background queries started by Open
	closeOnce sync.Once
}

// Open opens a UDP socket, starts a DHT node and checks that at least one
// bootstrap node answers. It returns an error matching ErrUnreachable when
// none does within ~3 s (or before ctx ends), or when no bootstrap name
// resolves.
func Open(ctx context.Context, cfg Config) (*Mailbox, error) {
	hostports := cfg.Bootstrap
	if len(hostports) == 0 {
		hostports = DefaultBootstrap()
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	addrs, network, err := resolve(ctx, hostports, logf)
	if err != nil {
		return nil, err
	}
	listen := cfg.Listen
	if listen == nil {
		listen = net.ListenPacket
	}
	conn, err := listen(network, ":0")
	if err != nil {
		return nil, fmt.Errorf("mailbox: opening a UDP socket: %w", err)
	}
	m := &Mailbox{network: network, bootstrap: addrs, logf: logf}
	m.closing, m.stop = context.WithCancel(context.Background())
	m.want = []krpc.Want{krpc.WantNodes}
	if network == "udp6" {
		m.want = []krpc.Want{krpc.WantNodes6}
	}
	m.s, err = dht.NewServer(&dht.ServerConfig{
		Conn: conn,
		// A short-lived client should not enter other nodes' routing tables:
		// BEP 43 read-only. It also means we answer no queries.
		Passive: true,
		// BEP 42 node-ID checks are off by default in this library and in
		// libtorrent; a Sybil near our key could only hide the item, which
		// the caller's fallback covers.
		NoSecurity:       true,
		StartingNodes:    m.startingAddrs,
		DefaultWant:      m.want,
		Store:            bep44.NewMemory(),
		Exp:              itemLifetime,
		SendLimiter:      rate.NewLimiter(sendRate, sendBurst),
		QueryResendDelay: func() time.Duration { return queryTimeout },
		Logger:           newLogger(cfg.Logf),
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("mailbox: starting a DHT node: %w", err)
	}
	if err := m.reachBootstrap(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close stops the node and closes its socket.
func (m *Mailbox) Close() error {
	m.closeOnce.Do(func() {
		m.stop()
		m.wg.Wait()
		m.s.Close()
	})
	return nil
}

// resolve turns HOST:PORT entries into addresses of one family: IPv4 when any
// entry has an IPv4 address (Mainline's IPv4 DHT is the big one, and both
// peers must meet in the same one), else IPv6.
func resolve(ctx context.Context, hostports []string, logf func(string, ...any)) ([]netip.AddrPort, string, error) {
	var v4, v6 []netip.AddrPort
	var lastErr error
	for _, hp := range hostports {
		host, portStr, err := net.SplitHostPort(hp)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %q: %v", ErrBadAddress, hp, err)
		}
		port, err := net.DefaultResolver.LookupPort(ctx, "udp", portStr)
		if err != nil || port == 0 {
			return nil, "", fmt.Errorf("%w: %q: bad port", ErrBadAddress, hp)
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			logf("mailbox: resolving %s: %v", hp, err)
			lastErr = err
			continue
		}
		for _, ip := range ips {
			ip = ip.Unmap()
			ap := netip.AddrPortFrom(ip, uint16(port))
			if ip.Is4() {
				v4 = append(v4, ap)
			} else {
				v6 = append(v6, ap)
			}
		}
	}
	switch {
	case len(v4) > 0:
		return v4, "udp4", nil
	case len(v6) > 0:
		return v6, "udp6", nil
	}
	return nil, "", fmt.Errorf("%w: no bootstrap address resolved: %v", ErrUnreachable, lastErr)
}

// startingAddrs gives the library the bootstrap nodes when its table is empty.
func (m *Mailbox) startingAddrs() ([]dht.Addr, error) {
	out := make([]dht.Addr, 0, len(m.bootstrap))
	for _, ap := range m.bootstrap {
		out = append(out, dht.NewAddr(net.UDPAddrFromAddrPort(ap)))
	}
	return out, nil
}

// reachBootstrap asks every bootstrap node for nodes near our ID and returns
// at the first answer (the library adds each node that answers to its
// table). The other queries go on in the background until they end, so more
// nodes join the table.
func (m *Mailbox) reachBootstrap(ctx context.Context) error {
	answered := make(chan struct{}, len(m.bootstrap))
	failed := make(chan error, len(m.bootstrap))
	id := m.s.ID()
	for _, ap := range m.bootstrap {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			res := m.s.Query(m.closing, dht.NewAddr(net.UDPAddrFromAddrPort(ap)), "find_node", dht.QueryInput{
				MsgArgs:  krpc.MsgArgs{Target: id, Want: m.want},
				NumTries: bootstrapSends,
			})
			if err := res.ToError(); err != nil {
				failed <- fmt.Errorf("%v: %w", ap, err)
				return
			}
			answered <- struct{}{}
		}()
	}
	var lastErr error
	for range m.bootstrap {
		select {
		case <-answered:
			return nil
		case lastErr = <-failed:
			m.logf("mailbox: bootstrap %v", lastErr)
		case <-ctx.Done():
			return fmt.Errorf("%w (%d bootstrap nodes asked): %w", ErrUnreachable, len(m.bootstrap), ctx.Err())
		}
	}
	return fmt.Errorf("%w (%d bootstrap nodes asked, last: %v)", ErrUnreachable, len(m.bootstrap), lastErr)
}

// newLogger passes the library's warnings and errors to logf; without logf
// the library stays silent (its default writes to stderr).
func newLogger(logf func(string, ...any)) alog.Logger {
	var l alog.Logger
	if logf == nil {
		l.SetHandlers(alog.DiscardHandler)
		return l
	}
	l.SetHandlers(handlerFunc(func(r alog.Record) {
		logf("dht %s: %s", r.Level.LogString(), r.Msg.String())
	}))
	return l.WithFilterLevel(alog.Warning)
}

type handlerFunc func(alog.Record)

func (f handlerFunc) Handle(r alog.Record) { f(r) }
