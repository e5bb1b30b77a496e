package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"
)

// growerConn is a Conn with the optional PacketGrower interface: it records the hello it
// sends and the order of its writes and GrowPackets calls.
type growerConn struct {
	Conn
	can bool

	mu     sync.Mutex
	hello  helloMsg
	log    []string // "write X" for each message written, "grow" for GrowPackets
	growed int
}

func (c *growerConn) WriteMsg(p []byte) error {
	c.mu.Lock()
	if len(p) > 0 && p[0] == typeHello {
		_ = json.Unmarshal(p[1:], &c.hello)
	}
	c.log = append(c.log, "write "+string(p[:1]))
	c.mu.Unlock()
	return c.Conn.WriteMsg(p)
}

func (c *growerConn) CanGrowPackets() bool { return c.can }

func (c *growerConn) GrowPackets() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.growed++
	c.log = append(c.log, "grow")
}

// capsTransfer copies a small stream between snd and rcv, Conns made over a Pipe.
func capsTransfer(t *testing.T, snd, rcv Conn) {
	t.Helper()
	data := randomBytes(300<<10, 9)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := Send(ctx, snd, []Item{StreamItem("s", bytes.NewReader(data))}, SendOptions{})
		errc <- err
	}()
	if _, err := Receive(ctx, rcv, ReceiveOptions{Stdout: &out}); err != nil {
		t.Fatalf("receive: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("send: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("the data differs")
	}
}

// The packet-size capability: each side announces it only when its Conn can grow, and grows
// only when both hellos announced it, right after the hellos and before anything else.
func TestHelloCapsGrowPackets(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sndCan, rcvCan bool
		sndPlain       bool // the sender's Conn has no PacketGrower (like the page's)
		rcvPlain       bool
		wantGrow       bool
		wantSndCap     bool
		wantRcvCap     bool
	}{
		{name: "both can", sndCan: true, rcvCan: true, wantGrow: true, wantSndCap: true, wantRcvCap: true},
		{name: "receiver cannot", sndCan: true, rcvCan: false, wantSndCap: true},
		{name: "sender cannot", sndCan: false, rcvCan: true, wantRcvCap: true},
		{name: "neither can", sndCan: false, rcvCan: false},
		{name: "receiver without the interface", sndCan: true, rcvPlain: true, wantSndCap: true},
		{name: "sender without the interface", rcvCan: true, sndPlain: true, wantRcvCap: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Pipe()
			sg := &growerConn{Conn: a, can: tc.sndCan}
			rg := &growerConn{Conn: b, can: tc.rcvCan}
			var snd, rcv Conn = sg, rg
			if tc.sndPlain {
				snd = a
			}
			if tc.rcvPlain {
				rcv = b
			}
			capsTransfer(t, snd, rcv)
			for _, c := range []struct {
				side    string
				g       *growerConn
				plain   bool
				wantCap bool
			}{{"sender", sg, tc.sndPlain, tc.wantSndCap}, {"receiver", rg, tc.rcvPlain, tc.wantRcvCap}} {
				if c.plain {
					continue
				}
				if got := slices.Contains(c.g.hello.Caps, capSCTPMTU8k); got != c.wantCap {
					t.Errorf("%s announced the capability: %v, want %v (hello %+v)", c.side, got, c.wantCap, c.g.hello)
				}
				want := 0
				if tc.wantGrow {
					want = 1
				}
				if c.g.growed != want {
					t.Errorf("%s grew its packets %d times, want %d", c.side, c.g.growed, want)
				}
				if tc.wantGrow && (len(c.g.log) < 2 || c.g.log[0] != "write H" || c.g.log[1] != "grow") {
					t.Errorf("%s: %v, want the hello, then grow, then the rest", c.side, c.g.log)
				}
			}
		})
	}
}

// A hello's caps are optional and unknown ones are ignored; a hello without them (the page's,
// an older CLI's) has none.
func TestHelloCapsDecode(t *testing.T) {
	for _, tc := range []struct {
		body string
		caps []string
	}{
		{`{"v":2,"role":"send","app":"p2pcopy-web/0.1.0"}`, nil},
		{`{"v":2,"role":"send","caps":[]}`, []string{}},
		{`{"v":2,"role":"send","caps":["sctp-mtu-8k"]}`, []string{capSCTPMTU8k}},
		{`{"v":2,"role":"receive","caps":["from-the-future","sctp-mtu-8k"],"other":1}`, []string{"from-the-future", capSCTPMTU8k}},
	} {
		m, err := decodeMessage(append([]byte{typeHello}, tc.body...))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if !slices.Equal(m.Hello.Caps, tc.caps) {
			t.Errorf("%s: caps %q, want %q", tc.body, m.Hello.Caps, tc.caps)
		}
	}
	// What this side sends when it can grow.
	b := encodeMessage(typeHello, helloMsg{V: protocolVersion, Role: roleSend, App: "p2pcopy/1", Caps: []string{capSCTPMTU8k}})
	if want := `H{"v":2,"role":"send","app":"p2pcopy/1","caps":["sctp-mtu-8k"]}`; string(b) != want {
		t.Errorf("hello %s, want %s", b, want)
	}
}
