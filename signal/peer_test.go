package signal

import (
	"bytes"
	"context"
	"testing"
	"time"
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
