package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/internal/vnetlab"
	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
	"github.com/pion/transport/v5/vnet"
)

// link is what two people's chat does: each side's published token reaches the other.
type link struct{ toSender, toReceiver chan string }

func newLink() *link { return &link{make(chan string, 1), make(chan string, 1)} }

func exchangeFor(out, in chan string, peerToken string) session.Exchange {
	return session.Exchange{
		PeerToken: peerToken,
		Publish: func(_ signal.Token, text string) error {
			out <- text
			return nil
		},
		ReadPeer: func(ctx context.Context) (string, error) {
			select {
			case s := <-in:
				return s, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		},
		ConnectTimeout: 20 * time.Second,
	}
}

type side struct {
	peer *signal.Peer
	conn *signal.Conn
	err  error
}

// connectPair connects a sender and a receiver; the sender makes the offer unless receiverFirst.
func connectPair(t testing.TB, sendCfg, recvCfg signal.Config, receiverFirst bool, timeout time.Duration) (snd, rcv side) {
	t.Helper()
	return connectPairNAT(t, sendCfg, recvCfg, receiverFirst, timeout, nil, nil)
}

// connectPairNAT is connectPair with each side's answer to "is my NAT symmetric?" (nil: not asked).
func connectPairNAT(t testing.TB, sendCfg, recvCfg signal.Config, receiverFirst bool, timeout time.Duration, sendSym, recvSym func() bool) (snd, rcv side) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sendCfg.Role, recvCfg.Role = signal.RoleSender, signal.RoleReceiver
	l := newLink()
	sendEx := exchangeFor(l.toReceiver, l.toSender, "")
	recvEx := exchangeFor(l.toSender, l.toReceiver, "")
	sendEx.ConnectTimeout, recvEx.ConnectTimeout = timeout, timeout
	sendEx.SymmetricNAT, recvEx.SymmetricNAT = sendSym, recvSym
	done := make(chan side, 1)
	if receiverFirst {
		go func() {
			p, c, err := session.Connect(ctx, recvCfg, recvEx)
			done <- side{p, c, err}
		}()
		sendEx.PeerToken = <-l.toSender
		p, c, err := session.Connect(ctx, sendCfg, sendEx)
		snd, rcv = side{p, c, err}, <-done
	} else {
		go func() {
			p, c, err := session.Connect(ctx, sendCfg, sendEx)
			done <- side{p, c, err}
		}()
		recvEx.PeerToken = <-l.toReceiver
		p, c, err := session.Connect(ctx, recvCfg, recvEx)
		rcv, snd = side{p, c, err}, <-done
	}
	t.Cleanup(func() {
		for _, s := range []side{snd, rcv} {
			if s.peer != nil {
				_ = s.peer.Close()
			}
		}
	})
	return snd, rcv
}

// copyItems runs a whole transfer over a connected pair.
func copyItems(t testing.TB, snd, rcv side, items []transfer.Item, opts transfer.ReceiveOptions) transfer.Result {
	t.Helper()
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := transfer.Send(ctx, snd.conn, items, transfer.SendOptions{})
		_ = snd.conn.Close()
		errc <- err
	}()
	res, err := transfer.Receive(ctx, rcv.conn, opts)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("send: %v", err)
	}
	return res
}

func loopbackConfig() signal.Config {
	return signal.Config{NoSTUN: true, IncludeLoopback: true}
}

func writeRandom(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoopbackFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandom(t, src, 8<<20+13)
	items, _, err := transfer.FileItems(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, receiverFirst := range []bool{false, true} {
		snd, rcv := connectPair(t, loopbackConfig(), loopbackConfig(), receiverFirst, 20*time.Second)
		if snd.err == nil && snd.conn.Info.VerifyCode != rcv.conn.Info.VerifyCode {
			t.Fatalf("verification codes differ: %q vs %q", snd.conn.Info.VerifyCode, rcv.conn.Info.VerifyCode)
		}
		out := t.TempDir()
		res := copyItems(t, snd, rcv, items, transfer.ReceiveOptions{Dir: out})
		got, err := os.ReadFile(filepath.Join(out, "big.bin"))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("receiverFirst=%v: received file differs (err %v, %d of %d bytes)", receiverFirst, err, len(got), len(want))
		}
		if res.Bytes != int64(len(want)) || res.Files != 1 {
			t.Fatalf("result %+v, want 1 file of %d bytes", res, len(want))
		}
		if info := snd.conn.Info; info.Path != signal.PathLAN {
			t.Errorf("loopback path described as %q (%s), want LAN", info.Path, info.Describe())
		}
	}
}

func TestLoopbackTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "tree")
	files := map[string][]byte{
		"tree/a.txt":                 []byte("alpha\n"),
		"tree/empty.txt":             nil,
		"tree/Ünïcødé/日本語.txt":       []byte("こんにちは"),
		"tree/sub/deeper/random.bin": nil,
	}
	files["tree/sub/deeper/random.bin"] = writeRandom(t, filepath.Join(root, "sub/deeper/random.bin"), 300_001)
	for rel, b := range files {
		p := filepath.Join(filepath.Dir(root), rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	items, _, err := transfer.FileItems(root)
	if err != nil {
		t.Fatal(err)
	}
	snd, rcv := connectPair(t, loopbackConfig(), loopbackConfig(), false, 20*time.Second)
	out := t.TempDir()
	copyItems(t, snd, rcv, items, transfer.ReceiveOptions{Dir: out})
	for rel, want := range files {
		got, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: differs (err %v)", rel, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "tree/empty-dir")); err != nil || !fi.IsDir() {
		t.Errorf("empty directory not created: %v", err)
	}
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".p2pcopy-part") {
			t.Errorf("partial file left behind: %s", p)
		}
		return nil
	})
}

func TestLoopbackStreamAndText(t *testing.T) {
	data := make([]byte, 3<<20+7)
	_, _ = rand.Read(data)
	snd, rcv := connectPair(t, loopbackConfig(), loopbackConfig(), true, 20*time.Second)
	var out bytes.Buffer
	copyItems(t, snd, rcv, []transfer.Item{transfer.StreamItem("stdin", bytes.NewReader(data))},
		transfer.ReceiveOptions{Stdout: &out})
	if sha256.Sum256(out.Bytes()) != sha256.Sum256(data) {
		t.Fatalf("stream differs: got %d bytes, want %d", out.Len(), len(data))
	}

	snd, rcv = connectPair(t, loopbackConfig(), loopbackConfig(), false, 20*time.Second)
	var text bytes.Buffer
	msg := "the wifi password is «correct horse battery staple»"
	copyItems(t, snd, rcv, []transfer.Item{transfer.TextItem(msg)}, transfer.ReceiveOptions{Dir: t.TempDir(), Text: &text})
	if !strings.Contains(text.String(), msg) {
		t.Fatalf("text message: got %q, want %q", text.String(), msg)
	}
}

// TestTwoSendersRefused: two people who both ran "send" learn it from the token, before connecting.
func TestTwoSendersRefused(t *testing.T) {
	ctx := context.Background()
	cfg := loopbackConfig()
	cfg.Role = signal.RoleSender
	offers := make(chan string, 1)
	ex := exchangeFor(offers, make(chan string), "")
	go func() { _, _, _ = session.Connect(ctx, cfg, ex) }()
	second := exchangeFor(make(chan string, 1), nil, <-offers)
	_, _, err := session.Connect(ctx, cfg, second)
	var te *signal.TokenError
	if !errors.As(err, &te) || te.Kind != "same-role" {
		t.Fatalf("two senders: got %v, want a same-role token error", err)
	}
}

func natConfig(n *vnet.Net, lab *vnetlab.Lab, turn bool) signal.Config {
	cfg := signal.Config{Net: n, STUN: []string{lab.STUNURL()}, DisableMDNS: true, GatherTimeout: 2 * time.Second}
	if turn {
		cfg.TURN = []string{lab.TURNURL()}
	}
	return cfg
}

// TestThroughNATs connects peers behind simulated NATs (pion vnet) with an in-process STUN/TURN
// server and copies a file: directly where the NAT kinds allow it, relayed where they do not.
func TestThroughNATs(t *testing.T) {
	cases := []struct {
		name       string
		a, b       *vnet.NATType
		turn       bool
		want       signal.Path // "" means: must fail to connect
		wantPair   []string
		receiverUp bool
	}{
		{name: "port-restricted to full-cone", a: vnetlab.PortRestricted, b: vnetlab.FullCone, want: signal.PathNAT},
		{name: "port-restricted both, receiver offers", a: vnetlab.PortRestricted, b: vnetlab.PortRestricted, want: signal.PathNAT, receiverUp: true},
		{name: "symmetric both, no TURN", a: vnetlab.Symmetric, b: vnetlab.Symmetric, want: ""},
		{name: "symmetric both, TURN", a: vnetlab.Symmetric, b: vnetlab.Symmetric, turn: true, want: signal.PathRelayed},
	}
	src := filepath.Join(t.TempDir(), "file.bin")
	want := writeRandom(t, src, 2<<20)
	items, _, err := transfer.FileItems(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab := vnetlab.New(t)
			sendNet, recvNet := lab.AddPeer(t, tc.a), lab.AddPeer(t, tc.b)
			timeout := 20 * time.Second
			if tc.want == "" {
				timeout = 8 * time.Second
			}
			start := time.Now()
			snd, rcv := connectPair(t, natConfig(sendNet, lab, tc.turn), natConfig(recvNet, lab, tc.turn), tc.receiverUp, timeout)
			if tc.want == "" {
				var ce *signal.ConnectError
				if !errors.As(snd.err, &ce) && !errors.As(rcv.err, &ce) {
					t.Fatalf("expected a connect error, got sender %v, receiver %v", snd.err, rcv.err)
				}
				// The CLI words every connect error with the --turn advice (cmd/p2pcopy advice.go).
				if !strings.HasPrefix(ce.Error(), "could not connect to your peer: ") {
					t.Fatalf("connect error %q", ce)
				}
				return
			}
			if snd.err != nil || rcv.err != nil {
				t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
			}
			info := snd.conn.Info
			t.Logf("%s: %s, local %s, remote %s, connected in %v", tc.name, info.Describe(), info.Local, info.Remote, time.Since(start).Round(time.Millisecond))
			if info.Path != tc.want {
				t.Errorf("path %q (%s), want %q", info.Path, info.Describe(), tc.want)
			}
			out := t.TempDir()
			copyItems(t, snd, rcv, items, transfer.ReceiveOptions{Dir: out})
			got, err := os.ReadFile(filepath.Join(out, "file.bin"))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("received file differs: %v", err)
			}
		})
	}
}

// outage is what outageTransfer saw.
type outage struct {
	want             []byte // the source bytes
	out              string // the output directory
	cut, end         time.Time
	sendErr, recvErr error
}

// outageTransfer copies a file between two peers behind NATs and cuts the WAN for length once
// the receiver has some bytes (forever if length < 0).
func outageTransfer(t *testing.T, stall, length time.Duration) outage {
	lab := vnetlab.New(t)
	sendCfg := natConfig(lab.AddPeer(t, vnetlab.PortRestricted), lab, false)
	recvCfg := natConfig(lab.AddPeer(t, vnetlab.FullCone), lab, false)
	sendCfg.StallTimeout, recvCfg.StallTimeout = stall, stall
	src := filepath.Join(t.TempDir(), "file.bin")
	var o outage
	o.want = writeRandom(t, src, 32<<20)
	items, _, err := transfer.FileItems(src)
	if err != nil {
		t.Fatal(err)
	}
	snd, rcv := connectPair(t, sendCfg, recvCfg, false, 20*time.Second)
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := transfer.Send(ctx, snd.conn, items, transfer.SendOptions{})
		errc <- err
	}()
	o.out = t.TempDir()
	_, o.recvErr = transfer.Receive(ctx, rcv.conn, transfer.ReceiveOptions{Dir: o.out, OnEvent: func(e transfer.Event) {
		if o.cut.IsZero() && e.Bytes > 1<<20 {
			o.cut = time.Now()
			t.Logf("outage starts at %d bytes", e.Bytes)
			lab.SetDown(true)
			if length >= 0 {
				time.AfterFunc(length, func() { t.Log("outage ends"); lab.SetDown(false) })
			}
		}
	}})
	o.end = time.Now()
	if o.cut.IsZero() {
		t.Fatalf("the transfer ended before the outage could start: %v", o.recvErr)
	}
	o.sendErr = <-errc
	return o
}

// TestOutageRecovers: 10 s without a single packet mid-transfer (a Wi-Fi blip) does not fail the
// transfer; it completes unaided and the bytes are identical.
func TestOutageRecovers(t *testing.T) {
	o := outageTransfer(t, signal.DefaultStallTimeout, 10*time.Second)
	if o.sendErr != nil || o.recvErr != nil {
		t.Fatalf("transfer failed across a 10 s outage: sender %v, receiver %v", o.sendErr, o.recvErr)
	}
	got, err := os.ReadFile(filepath.Join(o.out, "file.bin"))
	if err != nil || !bytes.Equal(got, o.want) {
		t.Fatalf("received file differs: %v", err)
	}
	// Most of the file was still to come when the WAN went down: it cannot have arrived before
	// the outage ended, unless the outage did not cut the path.
	if after := o.end.Sub(o.cut); after < 10*time.Second {
		t.Fatalf("finished %v after the cut: the outage did not stop the transfer", after)
	}
	t.Logf("finished %v after the 10 s outage began", o.end.Sub(o.cut).Round(time.Millisecond))
}

// TestOutageGivesUp: when the peer stays silent past the stall timeout, both sides fail with an
// error whose Fix says that running the transfer again resumes (the CLI words it as "run both
// commands again to resume"), and the partial file is kept.
func TestOutageGivesUp(t *testing.T) {
	start := time.Now()
	o := outageTransfer(t, 6*time.Second, -1)
	sendErr, recvErr, out := o.sendErr, o.recvErr, o.out
	took := time.Since(start)
	for side, err := range map[string]error{"sender": sendErr, "receiver": recvErr} {
		var te *transfer.Error
		if !errors.As(err, &te) || te.Fix != transfer.FixRunAgain {
			t.Errorf("%s: got %v, want a connection-lost error with Fix %v (run again to resume)", side, err, transfer.FixRunAgain)
		}
	}
	if recvErr != nil && !strings.Contains(recvErr.Error(), "the partial file is kept as file.bin.p2pcopy-part") {
		t.Errorf("receiver: %v does not say that the partial file is kept", recvErr)
	}
	if _, err := os.Stat(filepath.Join(out, "file.bin.p2pcopy-part")); err != nil {
		t.Errorf("partial file not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "file.bin")); err == nil {
		t.Errorf("file.bin exists under its final name after a failed transfer")
	}
	if took > time.Minute {
		t.Errorf("giving up took %v with a 6 s stall timeout", took)
	}
	t.Logf("gave up after %v (stall timeout 6 s): sender %v; receiver %v", took.Round(time.Millisecond), sendErr, recvErr)
}

// TestCloseWakesReaderWhenPeerSilent: a side that finished (or gave up) closes its connection
// while a read is still pending and the peer has gone silent. The read must return at once:
// closing a stream only resets our half, and a silent peer never resets its half, so without
// more the reader (and whoever waits for it: transfer.Receive on its way out) hung for good.
func TestCloseWakesReaderWhenPeerSilent(t *testing.T) {
	lab := vnetlab.New(t)
	sendCfg := natConfig(lab.AddPeer(t, vnetlab.PortRestricted), lab, false)
	recvCfg := natConfig(lab.AddPeer(t, vnetlab.FullCone), lab, false)
	snd, rcv := connectPair(t, sendCfg, recvCfg, false, 20*time.Second)
	if snd.err != nil || rcv.err != nil {
		t.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
	}
	lab.SetDown(true)
	read := make(chan error, 1)
	go func() {
		_, err := rcv.conn.ReadMsg(make([]byte, transfer.MaxMessageSize))
		read <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the read block
	start := time.Now()
	rcv.conn.Close()
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("a read on a closed connection returned no error")
		}
		t.Logf("pending read returned %v after %v", err, time.Since(start).Round(time.Millisecond))
	case <-time.After(15 * time.Second):
		t.Fatal("a read pending on a closed connection did not return within 15 s of Close (the peer is silent)")
	}
}

// TestFailureNamesNATCause: when both tokens say their author's NAT is symmetric (as p2pcopy nat
// found), the failed connection says so on both sides, and each token carried its own flag.
func TestFailureNamesNATCause(t *testing.T) {
	lab := vnetlab.New(t)
	sendCfg := natConfig(lab.AddPeer(t, vnetlab.Symmetric), lab, false)
	recvCfg := natConfig(lab.AddPeer(t, vnetlab.Symmetric), lab, false)
	yes := func() bool { return true }
	snd, rcv := connectPairNAT(t, sendCfg, recvCfg, false, 6*time.Second, yes, yes)
	for who, err := range map[string]error{"sender": snd.err, "receiver": rcv.err} {
		var ce *signal.ConnectError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: want a connect error, got %v", who, err)
		}
		want := "Both sides are behind NATs that change ports per destination (symmetric), so no direct path exists"
		if ce.Cause != want || !strings.HasSuffix(ce.Error(), want) {
			t.Errorf("%s: %q does not contain %q", who, ce.Error(), want)
		}
	}
}
