package signal

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v5"
)

// TestPeersOverLoopback connects two real pion peers through their tokens (encoded and decoded as
// a user would paste them) and checks messages flow both ways at the largest size, with flow control.
func TestPeersOverLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := Config{NoSTUN: true, IncludeLoopback: true}
	a, err := NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	offer := roundTrip(t, mustToken(t)(a.Offer(ctx)))
	answer := roundTrip(t, mustToken(t)(b.Answer(ctx, offer)))
	if err := a.AcceptAnswer(answer); err != nil {
		t.Fatal(err)
	}
	type result struct {
		c   *Conn
		err error
	}
	bc := make(chan result, 1)
	go func() {
		c, err := b.Connect(ctx)
		bc <- result{c, err}
	}()
	ca, err := a.Connect(ctx)
	if err != nil {
		t.Fatalf("offerer: %v", err)
	}
	rb := <-bc
	if rb.err != nil {
		t.Fatalf("answerer: %v", rb.err)
	}
	if ca.Info.VerifyCode == "" || ca.Info.VerifyCode != rb.c.Info.VerifyCode {
		t.Fatalf("verification codes %q and %q should be equal and non-empty", ca.Info.VerifyCode, rb.c.Info.VerifyCode)
	}
	if ca.Info.Path != PathLAN {
		t.Errorf("loopback connection described as %q", ca.Info.Describe())
	}

	const n = 200 // 50 MiB: several times the flow-control window
	msg := bytes.Repeat([]byte{0xA5}, MaxMessageSize)
	go func() {
		for i := 0; i < n; i++ {
			msg[0] = byte(i)
			if err := ca.WriteMsg(msg); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	buf := make([]byte, MaxMessageSize)
	for i := 0; i < n; i++ {
		k, err := rb.c.ReadMsg(buf)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if k != MaxMessageSize || buf[0] != byte(i) || buf[k-1] != 0xA5 {
			t.Fatalf("message %d: %d bytes, first %d", i, k, buf[0])
		}
	}
	_ = ca.Close()
	if _, err := rb.c.ReadMsg(buf); err == nil {
		t.Fatalf("read after the peer closed should fail")
	}
}

// TestPeerNeverReached: when not one packet comes from the peer (their p2pcopy quit after
// answering, or they never pasted our answer), the connect error says so, on the side that offered
// and on the side that answered, whether ICE gave up or the time limit ran out first. The offerer
// gets an answer whose only address is a socket that never answers (a pion peer closed right
// after answering sometimes still sent checks for a moment after Close returned, which a process
// that exited cannot); the answerer's offerer never takes the answer, so it has nowhere to send
// checks and drops the answerer's (their ufrag is not yet known to it).
func TestPeerNeverReached(t *testing.T) {
	cases := []struct {
		name    string
		offerer bool          // the side under test made the offer
		stall   time.Duration // ICE gives up after this much checking
		limit   time.Duration // Connect's deadline
		what    string
		advice  string
	}{
		{"offerer/ice-failed", true, 2 * time.Second, 10 * time.Second, "the connection attempt failed",
			"Your peer never reached you: is their p2pcopy still running (it gives up --timeout, 30s by default, after printing its answer)? If it is, on the same network check that no firewall blocks UDP"},
		{"offerer/time-limit", true, 0, 2 * time.Second, "no connection within the time limit",
			"Your peer never reached you: is their p2pcopy still running (it gives up --timeout"},
		{"answerer/ice-failed", false, 2 * time.Second, 10 * time.Second, "the connection attempt failed",
			"Your peer never reached you: is their p2pcopy still running (it waits for your answer), and did they paste your answer? If they did, on the same network check that no firewall blocks UDP"},
		{"answerer/time-limit", false, 0, 2 * time.Second, "no connection within the time limit",
			"and did they paste your answer?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cfg := Config{NoSTUN: true, IncludeLoopback: true, StallTimeout: c.stall}
			a := newTestPeer(t, cfg)
			offer := roundTrip(t, mustToken(t)(a.Offer(ctx)))
			var me *Peer
			if c.offerer {
				if err := a.AcceptAnswer(silentAnswer(t)); err != nil {
					t.Fatal(err)
				}
				me = a
			} else {
				me = newTestPeer(t, cfg)
				mustToken(t)(me.Answer(ctx, offer))
			}
			ce := failedConnect(t, ctx, me, c.limit)
			if ce.What != c.what || !ce.PeerSilent || ce.Offered != c.offerer {
				t.Errorf("got what %q, peer silent %v, offered %v; want %q, true, %v", ce.What, ce.PeerSilent, ce.Offered, c.what, c.offerer)
			}
			// The advice is the CLI's (cmd/p2pcopy: connect_fail.txtar, TestOffererPeerNeverReached).
			if want := "could not connect to your peer: " + c.what + " ("; !strings.HasPrefix(ce.Error(), want) || !strings.HasSuffix(ce.Error(), "). Your peer never reached you") {
				t.Errorf("message %q\nshould start with %q and end with \"Your peer never reached you\"", ce.Error(), want)
			}
		})
	}
}

// TestPeerHeardOneWay: packets from A reach B but nothing from B reaches A (B's sockets send
// nothing). B heard its peer, so its error must not claim otherwise; A heard nothing.
func TestPeerHeardOneWay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := Config{NoSTUN: true, IncludeLoopback: true, StallTimeout: 2 * time.Second}
	a := newTestPeer(t, cfg)
	n, err := newBufferedNet(false)
	if err != nil {
		t.Fatal(err)
	}
	muteCfg := cfg
	muteCfg.Net = muteNet{n}
	b := newTestPeer(t, muteCfg)
	offer := roundTrip(t, mustToken(t)(a.Offer(ctx)))
	answer := roundTrip(t, mustToken(t)(b.Answer(ctx, offer)))
	if err := a.AcceptAnswer(answer); err != nil {
		t.Fatal(err)
	}
	errB := make(chan *ConnectError, 1)
	go func() { errB <- failedConnect(t, ctx, b, 10*time.Second) }()
	ceA := failedConnect(t, ctx, a, 10*time.Second)
	ceB := <-errB
	if ceB == nil {
		return
	}
	if ceB.PeerSilent || strings.Contains(ceB.Error(), "never reached") {
		t.Errorf("the side that got its peer's checks says it heard nothing: %v", ceB)
	}
	if !ceA.PeerSilent {
		t.Errorf("the side that got nothing says it heard its peer: %v", ceA)
	}
}

// silentAnswer is a valid answer whose only address is a UDP socket that never answers.
func silentAnswer(t *testing.T) Token {
	t.Helper()
	hole, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hole.Close() })
	port := uint16(hole.LocalAddr().(*net.UDPAddr).Port)
	return roundTrip(t, Token{
		Kind: Answer, Role: RoleReceiver, Active: true, Ufrag: "abcf", Pwd: "abcdefghijklmnopqrstux",
		Fingerprint: [32]byte{3, 3, 3}, Candidates: []Candidate{{Type: Host, Addr: netip.MustParseAddr("127.0.0.1"), Port: port}},
	})
}

func newTestPeer(t *testing.T, cfg Config) *Peer {
	t.Helper()
	p, err := NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// failedConnect connects with a deadline of limit and returns the ConnectError it must end with.
func failedConnect(t *testing.T, ctx context.Context, p *Peer, limit time.Duration) *ConnectError {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c, err := p.Connect(ctx)
	if err == nil {
		_ = c.Close()
		t.Error("connected, want a failure")
		return nil
	}
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Errorf("got %v, want a *ConnectError", err)
		return nil
	}
	return ce
}

// muteNet is the system network with UDP sockets that send nothing (a firewall dropping every
// outgoing packet): the peer's packets arrive, ours never leave.
type muteNet struct{ transport.Net }

func (n muteNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return muteConn{c}, nil
}

type muteConn struct{ transport.UDPConn }

func (muteConn) Write(b []byte) (int, error)                      { return len(b), nil }
func (muteConn) WriteTo(b []byte, _ net.Addr) (int, error)        { return len(b), nil }
func (muteConn) WriteToUDP(b []byte, _ *net.UDPAddr) (int, error) { return len(b), nil }
func (muteConn) WriteMsgUDP(b, oob []byte, _ *net.UDPAddr) (int, int, error) {
	return len(b), len(oob), nil
}

func mustToken(t *testing.T) func(Token, error) Token {
	return func(tok Token, err error) Token {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// roundTrip encodes and decodes a token, as pasting it through a chat does.
func roundTrip(t *testing.T, tok Token) Token {
	t.Helper()
	s, err := tok.Encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	got, err := Decode(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return got
}

func TestSameLAN(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"192.168.1.10", "192.168.1.20", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"10.1.0.2", "10.2.0.2", false},
		{"203.0.113.10", "198.51.100.7", false},
		{"fd00::2", "fd00::3", true},
		{"192.168.1.10", "fd00::3", false},
		{"host.local", "192.168.1.1", false},
	} {
		if got := sameLAN(c.a, c.b); got != c.want {
			t.Errorf("sameLAN(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
