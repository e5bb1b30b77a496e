package session_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/dhtlab"
	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/internal/vnetlab"
	"github.com/p2pcopy/p2pcopy/mailbox"
	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
)

// carriers records what each side was told about how the answer travelled.
type carriers struct {
	mu  sync.Mutex
	got map[string][]signal.Carrier
}

func (c *carriers) tell(side string) func(signal.Carrier) {
	return func(v signal.Carrier) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.got == nil {
			c.got = map[string][]signal.Carrier{}
		}
		c.got[side] = append(c.got[side], v)
	}
}

func (c *carriers) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.got)
}

// onePastePair connects a sender (which offers) and a receiver that is given the offer, with
// nothing pasted back: the sender's ReadPeer gives what inputEnded says — nothing until the end
// of the test, or at once "input ended". Each side's Exchange is changed by setup.
func onePastePair(t *testing.T, sendCfg, recvCfg signal.Config, inputEnded bool, setup func(snd, rcv *session.Exchange)) (snd, rcv side, c *carriers) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sendCfg.Role, recvCfg.Role = signal.RoleSender, signal.RoleReceiver
	sendCfg.Rendezvous = true
	c = &carriers{}
	offers := make(chan string, 1)
	sendEx := session.Exchange{
		Publish: func(_ signal.Token, text string) error { offers <- text; return nil },
		ReadPeer: func(ctx context.Context) (string, error) {
			if inputEnded {
				return "", fmt.Errorf("stdin: %w", session.ErrInputEnded)
			}
			<-ctx.Done() // nobody pastes
			return "", ctx.Err()
		},
		ConnectTimeout: 20 * time.Second,
		Carried:        c.tell("sender"),
	}
	recvEx := session.Exchange{
		Publish:        func(signal.Token, string) error { return nil }, // the answer goes nowhere by hand
		ConnectTimeout: 20 * time.Second,
		Carried:        c.tell("receiver"),
	}
	if setup != nil {
		setup(&sendEx, &recvEx)
	}
	done := make(chan side, 1)
	go func() {
		p, conn, err := session.Connect(ctx, sendCfg, sendEx)
		done <- side{p, conn, err}
	}()
	select {
	case recvEx.PeerToken = <-offers:
	case s := <-done:
		t.Fatalf("sender ended before offering: %v", s.err)
	}
	p, conn, err := session.Connect(ctx, recvCfg, recvEx)
	rcv, snd = side{p, conn, err}, <-done
	t.Cleanup(func() {
		for _, s := range []side{snd, rcv} {
			if s.peer != nil {
				_ = s.peer.Close()
			}
		}
	})
	return snd, rcv, c
}

// wantCarried checks that both sides were told, once, that carrier brought the answer. The
// answering side learns it from the offerer's acknowledgement, shortly after connecting.
func wantCarried(t *testing.T, c *carriers, want signal.Carrier) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		n := len(c.got["receiver"])
		c.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range []string{"sender", "receiver"} {
		if got := c.got[s]; len(got) != 1 || got[0] != want {
			t.Fatalf("%s was told %v, want [%s] (all: %v)", s, got, want, c.got)
		}
	}
}

// copyOneFile sends a small file over a connected pair and checks the bytes.
func copyOneFile(t *testing.T, snd, rcv side) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "one.bin")
	want := writeRandom(t, src, 300_000)
	items, _, err := transfer.FileItems(src)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	copyItems(t, snd, rcv, items, transfer.ReceiveOptions{Dir: out})
	if got, err := os.ReadFile(filepath.Join(out, "one.bin")); err != nil || !bytes.Equal(got, want) {
		t.Fatal("received file differs")
	}
}

// TestOnePasteDirect: on loopback the receiver's answer reaches the sender directly, with nothing
// pasted, and both sides are told so.
func TestOnePasteDirect(t *testing.T) {
	snd, rcv, c := onePastePair(t, loopbackConfig(), loopbackConfig(), false, nil)
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	copyOneFile(t, snd, rcv)
	wantCarried(t, c, signal.CarrierDirect)
}

// TestOnePasteAfterInputEnded: the sender's input ends at once (a script with stdin closed);
// it keeps waiting, and the answer that comes by itself completes the connection.
func TestOnePasteAfterInputEnded(t *testing.T) {
	var notices []string
	snd, rcv, c := onePastePair(t, loopbackConfig(), loopbackConfig(), true, func(s, _ *session.Exchange) {
		s.Notice = func(msg string) { notices = append(notices, msg) }
	})
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	wantCarried(t, c, signal.CarrierDirect)
	if len(notices) != 1 || notices[0] != "input ended; still waiting for your peer's answer to arrive by itself" {
		t.Fatalf("notices %q", notices)
	}
}

// TestOnePasteMailbox: between two port-restricted NATs the direct packets are filtered, so the
// answer comes through a DHT mailbox (a real DHT of 20 nodes on loopback).
func TestOnePasteMailbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dht, err := dhtlab.Start(ctx, 20, nil, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dht.Close)
	open := func(ctx context.Context) (session.Mailbox, error) {
		mb, err := mailbox.Open(ctx, mailbox.Config{Bootstrap: dht.Addrs(), Listen: listenLoopback})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { _ = mb.Close() })
		return mb, nil
	}
	lab := vnetlab.New(t)
	sendNet, recvNet := lab.AddPeer(t, vnetlab.PortRestricted), lab.AddPeer(t, vnetlab.PortRestricted)
	snd, rcv, c := onePastePair(t, natConfig(sendNet, lab, false), natConfig(recvNet, lab, false), false, func(s, r *session.Exchange) {
		s.Mailbox, r.Mailbox = open, open
	})
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	copyOneFile(t, snd, rcv)
	wantCarried(t, c, signal.CarrierMailbox)
}

func listenLoopback(network, _ string) (net.PacketConn, error) {
	return net.ListenPacket(network, "127.0.0.1:0")
}
