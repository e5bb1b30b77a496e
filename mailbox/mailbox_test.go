package mailbox_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/dhtlab"
	"github.com/p2pcopy/p2pcopy/mailbox"
)

// labNodes is the size of the local DHT: enough that the 8 closest nodes
// are a real subset.
const labNodes = 24

func startLab(t *testing.T) *dhtlab.Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	nw, err := dhtlab.Start(ctx, labNodes, nil, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nw.Close)
	t.Logf("local DHT of %d nodes ready in %v", labNodes, time.Since(start).Round(time.Millisecond))
	return nw
}

func open(t *testing.T, bootstrap []string) *mailbox.Mailbox {
	t.Helper()
	return openWith(t, mailbox.Config{Bootstrap: bootstrap, Logf: t.Logf})
}

func openWith(t *testing.T, cfg mailbox.Config) *mailbox.Mailbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := mailbox.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func put(t *testing.T, m *mailbox.Mailbox, key ed25519.PrivateKey, salt, value []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := m.Put(ctx, key, salt, value); err != nil {
		t.Fatalf("put: %v", err)
	}
	t.Logf("put took %v", time.Since(start).Round(time.Microsecond))
}

// One side puts, the other (its own socket, its own node) gets the exact value.
func TestPutThenGet(t *testing.T) {
	nw := startLab(t)
	// The answerer's socket is dual-stack (as a caller's Listen may well
	// open): it sees IPv4 nodes as ::ffff:a.b.c.d too.
	answerer := openWith(t, mailbox.Config{Bootstrap: nw.Addrs(), Logf: t.Logf,
		Listen: func(_, addr string) (net.PacketConn, error) { return net.ListenPacket("udp", addr) }})
	offerer := open(t, nw.Addrs())
	pub, priv := newKey(t)
	salt, value := random(t, 16), random(t, 300)
	put(t, answerer, priv, salt, value)
	// BEP 44: on the 8 closest nodes, 8 distinct ones (the library sees each
	// IPv4 node also as ::ffff:a.b.c.d).
	if n := nw.Holders(pub, salt); n != 8 {
		t.Errorf("the item is on %d nodes, want 8", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	got, err := offerer.Get(ctx, pub, salt)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	t.Logf("first-result get took %v", time.Since(start).Round(time.Microsecond))
	if !bytes.Equal(got, value) {
		t.Fatalf("got %x, want %x", got, value)
	}
}

// The offerer starts waiting before the answerer has put anything: the value
// arrives about a poll interval after the put.
func TestGetWaitsForPut(t *testing.T) {
	nw := startLab(t)
	answerer, offerer := open(t, nw.Addrs()), open(t, nw.Addrs())
	pub, priv := newKey(t)
	salt, value := random(t, 16), random(t, 300)

	type result struct {
		v   []byte
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		v, err := offerer.Get(ctx, pub, salt)
		done <- result{v, err, time.Now()}
	}()
	time.Sleep(1500 * time.Millisecond) // at least one round finds nothing
	select {
	case r := <-done:
		t.Fatalf("get returned before the put: %x, %v", r.v, r.err)
	default:
	}
	put(t, answerer, priv, salt, value)
	putDone := time.Now()
	r := <-done
	if r.err != nil {
		t.Fatalf("get: %v", r.err)
	}
	if !bytes.Equal(r.v, value) {
		t.Fatalf("got %x, want %x", r.v, value)
	}
	lag := r.at.Sub(putDone)
	t.Logf("get returned %v after the put", lag.Round(time.Millisecond))
	// A round each second: the value shows up within about a second; 3 s
	// leaves room for slow timers on a loaded machine.
	if lag > 3*time.Second {
		t.Fatalf("get returned %v after the put, want about a second", lag)
	}
}

// No bootstrap node answers: Open says so quickly, as ErrUnreachable.
func TestOpenUnreachable(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := pc.LocalAddr().String()
	pc.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	m, err := mailbox.Open(ctx, mailbox.Config{Bootstrap: []string{silent}, Logf: t.Logf})
	took := time.Since(start)
	if err == nil {
		m.Close()
		t.Fatal("Open succeeded with no DHT node anywhere")
	}
	t.Logf("Open failed after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, mailbox.ErrUnreachable) {
		t.Fatalf("error %v is not ErrUnreachable", err)
	}
	if took > 5*time.Second {
		t.Fatalf("Open took %v to give up, want a few seconds", took)
	}
}

// Values over BEP 44's 1000 bencoded bytes are refused with a typed error;
// the largest allowed one goes through real nodes, which enforce the limit.
func TestValueSize(t *testing.T) {
	nw := startLab(t)
	answerer, offerer := open(t, nw.Addrs()), open(t, nw.Addrs())
	pub, priv := newKey(t)
	salt := random(t, 16)

	err := answerer.Put(context.Background(), priv, salt, random(t, mailbox.MaxValueSize+1))
	var se *mailbox.SizeError
	if !errors.Is(err, mailbox.ErrTooLarge) || !errors.As(err, &se) || se.What != "value" {
		t.Fatalf("put of %d bytes: got %v, want a value SizeError", mailbox.MaxValueSize+1, err)
	}
	err = answerer.Put(context.Background(), priv, random(t, mailbox.MaxSaltSize+1), []byte("x"))
	if !errors.As(err, &se) || se.What != "salt" {
		t.Fatalf("put with a %d-byte salt: got %v, want a salt SizeError", mailbox.MaxSaltSize+1, err)
	}

	value := random(t, mailbox.MaxValueSize)
	put(t, answerer, priv, salt, value)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := offerer.Get(ctx, pub, salt)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("get of the largest value: %v (%d bytes)", err, len(got))
	}
}
