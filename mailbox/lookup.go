package mailbox

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	k_nearest_nodes "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	"github.com/anacrolix/dht/v2/types"
	"github.com/anacrolix/torrent/bencode"
)

const (
	// MaxValueSize is the largest value Put takes: BEP 44 caps the bencoded
	// value at 1000 bytes, and a byte string of 996 bytes bencodes as
	// "996:" plus the bytes, exactly 1000.
	MaxValueSize = 996
	// MaxSaltSize is BEP 44's limit on the salt.
	MaxSaltSize = 64
	// itemSeq is the sequence number of every item we put: each key carries
	// one value, written once.
	itemSeq = 1
	// putK is how many of the closest nodes Put stores on: BEP 44's 8 (the
	// k of BEP 5's buckets).
	putK = 8
	// getK is how many of the closest nodes Get keeps re-asking: twice putK,
	// because the getter's view of the closest nodes can differ from the
	// putter's (churn, nodes one side cannot reach).
	getK = 16
	// alpha is how many queries a lookup keeps in flight. BEP 5 suggests 3;
	// more cuts the lookup's latency for a few extra packets (the library's
	// getput uses 15).
	alpha = 8
	// pollInterval is how often Get starts a new lookup round. A lookup asks
	// each node once, and the item may not be stored yet (the peer puts it
	// after we started waiting), so the closest nodes must be asked again.
	// Once a second adds at most ~1 s to the wait, and keeps each node at one
	// query a second from us, well below libtorrent's default ban threshold
	// (dht_block_ratelimit: 5 packets/s per source).
	pollInterval = time.Second
)

// Put stores value under key and salt on the DHT nodes closest to them (a
// BEP 44 mutable item, sequence number 1) and returns once they answered.
// It fails with a SizeError when value or salt is too large, with
// ErrUnreachable when no node answered, and with ErrNotStored when nodes
// answered but none stored the item.
func (m *Mailbox) Put(ctx context.Context, key ed25519.PrivateKey, salt, value []byte) error {
	if len(key) != ed25519.PrivateKeySize {
		return ErrBadKey
	}
	if len(value) > MaxValueSize {
		return &SizeError{What: "value", Len: len(value), Max: MaxValueSize}
	}
	if len(salt) > MaxSaltSize {
		return &SizeError{What: "salt", Len: len(salt), Max: MaxSaltSize}
	}
	var k [32]byte
	copy(k[:], key.Public().(ed25519.PublicKey))
	put := bep44.Put{V: bytes.Clone(value), K: &k, Salt: bytes.Clone(salt), Seq: itemSeq}
	put.Sign(key)
	start := time.Now()

	var answers answerSet
	op := m.startLookup(put.Target(), putK, nil, func(addr krpc.NodeAddr, _ *krpc.Return) { answers.add(addr) })
	select {
	case <-op.Stalled():
	case <-ctx.Done():
	}
	op.Stop()
	<-op.Stopped()
	if err := ctx.Err(); err != nil {
		return m.noAnswerOr(answers.len(), fmt.Errorf("mailbox: finding the nodes to store on: %w", err))
	}
	closest := elems(op.Closest())
	if len(closest) == 0 {
		return m.noAnswerOr(answers.len(), fmt.Errorf("%w: no node gave a write token", ErrNotStored))
	}
	found := time.Since(start)

	var wg sync.WaitGroup
	errs := make([]error, len(closest))
	for i, e := range closest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token, _ := e.Data.(string) // the lookup keeps only nodes that gave a string token
			errs[i] = m.s.Put(ctx, dht.NewAddr(e.Addr.UDP()), put, token, dht.QueryRateLimiting{}).ToError()
		}()
	}
	wg.Wait()
	stored := 0
	var lastErr error
	for i, err := range errs {
		if err != nil {
			m.logf("mailbox: put to %v: %v", closest[i].Addr, err)
			lastErr = err
			continue
		}
		stored++
	}
	m.logf("mailbox: put stored on %d of %d closest nodes (%d answered) in %v (lookup %v)",
		stored, len(closest), answers.len(), time.Since(start).Round(time.Millisecond), found.Round(time.Millisecond))
	if stored == 0 {
		return fmt.Errorf("%w: %d closest nodes, last error: %v", ErrNotStored, len(closest), lastErr)
	}
	return nil
}

// Get waits for the item under pub and salt and returns its value at the
// first valid (signature-checked) answer. It runs a lookup round each
// pollInterval, seeded with the previous round's closest nodes, until an
// item appears or ctx ends; then it returns a *NotFoundError.
func (m *Mailbox) Get(ctx context.Context, pub ed25519.PublicKey, salt []byte) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrBadKey
	}
	if len(salt) > MaxSaltSize {
		return nil, &SizeError{What: "salt", Len: len(salt), Max: MaxSaltSize}
	}
	var k [32]byte
	copy(k[:], pub)
	salt = bytes.Clone(salt)
	target := bep44.MakeMutableTarget(k, salt)
	start := time.Now()

	found := make(chan []byte, 1)
	var answers answerSet
	onReply := func(addr krpc.NodeAddr, r *krpc.Return) {
		answers.add(addr)
		if v, ok := verifyItem(r, k, salt); ok {
			select {
			case found <- v:
			default:
			}
		}
	}
	var seeds []types.AddrMaybeId
	for round := 1; ; round++ {
		op := m.startLookup(target, getK, seeds, onReply)
		v, err := m.waitRound(ctx, op, found)
		op.Stop()
		<-op.Stopped()
		if v != nil {
			m.logf("mailbox: get found the item in round %d after %v (%d nodes answered)",
				round, time.Since(start).Round(time.Millisecond), answers.len())
			return v, nil
		}
		if err != nil {
			return nil, &NotFoundError{Answered: answers.len(), Err: err}
		}
		seeds = seeds[:0]
		for _, e := range elems(op.Closest()) {
			seeds = append(seeds, types.AddrMaybeId{Addr: e.Addr, Id: someID(e.ID)})
		}
	}
}

// waitRound lets a lookup round run for at least pollInterval and until it
// stalls. It returns a value as soon as one is found, or the reason to stop.
func (m *Mailbox) waitRound(ctx context.Context, op *traversal.Operation, found <-chan []byte) ([]byte, error) {
	least := time.NewTimer(pollInterval)
	defer least.Stop()
	select {
	case v := <-found:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closing.Done():
		return nil, net.ErrClosed
	case <-least.C:
	}
	select {
	case v := <-found:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closing.Done():
		return nil, net.ErrClosed
	case <-op.Stalled():
	}
	return nil, nil
}

// verifyItem returns the value in a get reply if it is a mutable item under
// key k whose signature over salt, seq and value checks.
func verifyItem(r *krpc.Return, k [32]byte, salt []byte) ([]byte, bool) {
	if r.Seq == nil || len(r.V) == 0 || r.K != k {
		return nil, false
	}
	if !bep44.Verify(k[:], salt, *r.Seq, r.V, r.Sig[:]) {
		return nil, false
	}
	var v []byte
	if err := bencode.Unmarshal(r.V, &v); err != nil {
		return nil, false
	}
	return v, true
}

// noAnswerOr returns ErrUnreachable when no node answered, else err.
func (m *Mailbox) noAnswerOr(answered int, err error) error {
	if answered == 0 {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// answerSet counts the distinct nodes that answered.
type answerSet struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

func (a *answerSet) add(addr krpc.NodeAddr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = make(map[string]struct{})
	}
	a.seen[addr.String()] = struct{}{}
}

func (a *answerSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.seen)
}

func elems(c *k_nearest_nodes.Type) []k_nearest_nodes.Elem {
	var out []k_nearest_nodes.Elem
	c.Range(func(e k_nearest_nodes.Elem) { out = append(out, e) })
	return out
}
