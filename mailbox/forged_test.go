package mailbox_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/p2pcopy/p2pcopy/internal/dhtlab"
	"github.com/p2pcopy/p2pcopy/mailbox"
)

// sign makes a valid BEP 44 signature for a byte-string value.
func sign(key ed25519.PrivateKey, salt []byte, seq int64, v []byte) (sig [64]byte) {
	copy(sig[:], bep44.Sign(key, salt, seq, fmt.Appendf(nil, "%d:%s", len(v), v)))
	return sig
}

// An attacker node that claims to be closest to every key answers each get
// with a forged item: a bad signature under the right key, a good signature
// by another key under the same salt, and a good signature by the right key
// under another salt. Get returns none of them: it keeps waiting until its
// context ends, and it still returns the genuine value once it is put.
func TestForgedItemsIgnored(t *testing.T) {
	nw := startLab(t)
	pub, priv := newKey(t)
	_, otherPriv := newKey(t)
	salt, forged := random(t, 16), []byte("forged answer")

	var k [32]byte
	copy(k[:], pub)
	var otherK [32]byte
	copy(otherK[:], otherPriv.Public().(ed25519.PublicKey))
	badSig := sign(priv, salt, 1, forged)
	badSig[5] ^= 0x40
	items := []dhtlab.Item{
		{V: forged, K: k, Sig: badSig, Seq: 1},
		{V: forged, K: otherK, Sig: sign(otherPriv, salt, 1, forged), Seq: 1},
		{V: forged, K: k, Sig: sign(priv, []byte("another salt"), 1, forged), Seq: 1},
	}
	// One forging node per forgery, so each round meets all of them.
	var forgers []*dhtlab.Forger
	var bootstrap []string
	for _, it := range items {
		f, err := dhtlab.StartForger(nil, "127.0.0.1", nw, func([20]byte) dhtlab.Item { return it })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		forgers = append(forgers, f)
		bootstrap = append(bootstrap, f.Addr())
	}

	// The offerer meets the forgers first: they are its first bootstrap nodes.
	offerer := open(t, append(bootstrap, nw.Addrs()...))
	// Get asks until every forger has answered at least once and 2.5 s have passed (a
	// loaded machine may take longer to reach them all; 20 s is the limit).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		start := time.Now()
		for ctx.Err() == nil {
			all := true
			for _, f := range forgers {
				all = all && f.Served() > 0
			}
			if all && time.Since(start) >= 2500*time.Millisecond {
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	v, err := offerer.Get(ctx, pub, salt)
	if err == nil {
		t.Fatalf("get returned %q, which nobody with the key put", v)
	}
	var nf *mailbox.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, mailbox.ErrNotFound) || !(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		t.Fatalf("get: %v, want a NotFoundError for the end of its context", err)
	}
	if nf.Answered < 2 || errors.Is(err, mailbox.ErrUnreachable) {
		t.Fatalf("get: %v: the DHT answered, it must not say unreachable", err)
	}
	t.Logf("get: %v", err)
	for i, f := range forgers {
		t.Logf("forgery %d was served %d times", i, f.Served())
		if f.Served() == 0 {
			t.Fatalf("forgery %d was never asked for: the test tested nothing", i)
		}
	}

	// The genuine item still wins over the forger's.
	answerer := open(t, nw.Addrs())
	value := random(t, 300)
	put(t, answerer, priv, salt, value)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := offerer.Get(ctx, pub, salt)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("get after the genuine put: %q, %v", got, err)
	}
}
