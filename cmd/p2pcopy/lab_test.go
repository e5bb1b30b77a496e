//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
	"github.com/p2pcopy/p2pcopy/signal/netcheck"
)

// TestNATVerdictsInLab runs the built "p2pcopy nat" inside hosts behind real kernel NATs
// (network namespaces and nftables) and asserts the mapping and the verdict for every kind.
func TestNATVerdictsInLab(t *testing.T) {
	lab := netlab.New(t) // skips outside CI without root; fails in CI if it cannot run
	bin := binary(t)
	stun := lab.StartSTUN(t)
	cases := []struct {
		nat     netlab.NAT
		mapping netcheck.Mapping
		verdict netcheck.Verdict
	}{
		{netlab.None, netcheck.MappingNone, netcheck.VerdictPublic},
		{netlab.FullCone, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.AddressRestricted, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.PortRestricted, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.Symmetric, netcheck.MappingDependent, netcheck.VerdictSymmetric},
	}
	for _, tc := range cases {
		t.Run(tc.nat.String(), func(t *testing.T) {
			h := lab.AddHost(t, tc.nat)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := h.Command(ctx, bin, "nat", "--json", "--stun", stun[0], "--stun", stun[1])
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("p2pcopy nat: %v\n%s", err, out)
			}
			var ev struct {
				Report netcheck.Report
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &ev); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, out)
			}
			r := ev.Report
			t.Logf("%s: mapping %s, public %v", tc.nat, r.Mapping, r.Public)
			if !r.UDP || r.Mapping != tc.mapping || r.Verdict != tc.verdict {
				t.Fatalf("udp %v, mapping %q, verdict %q; want %q, %q\n%s", r.UDP, r.Mapping, r.Verdict, tc.mapping, tc.verdict, out)
			}
		})
	}
}

// cellResult is what one transfer in the lab did.
type cellResult struct {
	code      int
	path      string
	local     string
	remote    string
	connectMS float64
	stderr    string
}

// labTransfer copies src from host a (sender) to host b (receiver) with the built binary. When
// receiverOffers, the receiver prints the first token and the sender answers it.
func labTransfer(t *testing.T, bin string, a, b *netlab.Host, src, out string, receiverOffers bool, senderOnly []string, flags ...string) cellResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// No DHT mailbox here: these copies are about the network paths, and the lab has no DHT
	// (TestOnePasteInLab starts one).
	common := append([]string{"--json", "--no-dht"}, flags...)
	sendFlags := append(append([]string(nil), common...), senderOnly...)
	recv := b.Command(ctx, bin, append([]string{"receive", "-y", "-o", out}, common...)...)
	var p *pair
	if receiverOffers {
		p = &pair{receiver: recv}
		recv.Stderr = &p.recvErr
		recvOut, _ := recv.StdoutPipe()
		recvIn, _ := recv.StdinPipe()
		if err := recv.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(recvOut).ReadString('\n')
		if err != nil {
			t.Fatalf("no offer from the receiver: %v\n%s", err, p.recvErr.String())
		}
		p.sender = a.Command(ctx, bin, append(append([]string{"send"}, sendFlags...), src, strings.TrimSpace(line))...)
		p.sender.Stdout, p.sender.Stderr = recvIn, &p.sendErr
		if err := p.sender.Start(); err != nil {
			t.Fatal(err)
		}
	} else {
		p = joinPipes(t, a.Command(ctx, bin, append(append([]string{"send"}, sendFlags...), src)...), recv)
	}
	sendCode := exitCodeOf(p.sender.Wait())
	recvCode := exitCodeOf(p.receiver.Wait())
	sendErr, recvErr := &p.sendErr, &p.recvErr
	res := cellResult{code: max(sendCode, recvCode), stderr: "sender:\n" + sendErr.String() + "receiver:\n" + recvErr.String()}
	for _, line := range strings.Split(sendErr.String(), "\n") {
		var ev struct {
			Event         string
			Path          string
			Local, Remote struct {
				Type, Address string
				Port          int
			}
			ConnectMS float64 `json:"connect_ms"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "connected" {
			res.path, res.connectMS = ev.Path, ev.ConnectMS
			res.local = fmt.Sprintf("%s:%d (%s)", ev.Local.Address, ev.Local.Port, ev.Local.Type)
			res.remote = fmt.Sprintf("%s:%d (%s)", ev.Remote.Address, ev.Remote.Port, ev.Remote.Type)
		}
	}
	return res
}

// directPossible is what RFC 4787 theory predicts for two NATs (or none): a direct path exists
// unless one side maps per destination (symmetric) and the other filters by port or is symmetric.
func directPossible(a, b netlab.NAT) bool {
	strict := func(n netlab.NAT) bool { return n == netlab.PortRestricted || n == netlab.Symmetric }
	return !(a == netlab.Symmetric && strict(b) || b == netlab.Symmetric && strict(a))
}

// TestMatrixInLab copies 20 MB between every pair of NAT kinds (and two hosts on one LAN), in
// both directions of offer, with the built binary in real namespaces: direct where theory says
// so; elsewhere a clear failure within --timeout that points at --turn, then a relayed copy through
// coturn on the lab's internet (--turn on both sides, and on the sender only), three times each.
func TestMatrixInLab(t *testing.T) {
	lab := netlab.New(t)
	bin := binary(t)
	stun := lab.StartSTUN(t)
	coturn, err := lab.StartCoturn(t)
	if err != nil {
		if !errors.Is(err, netlab.ErrNoCoturn) || os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Logf("no relayed copies: %v", err)
	}
	src := filepath.Join(t.TempDir(), "twenty.bin")
	want := writeRandomFile(t, src, 20_000_000)
	kinds := []netlab.NAT{netlab.None, netlab.FullCone, netlab.AddressRestricted, netlab.PortRestricted, netlab.Symmetric}
	type cell struct {
		name string
		a, b *netlab.Host
	}
	var cells []cell
	for i, ka := range kinds {
		for _, kb := range kinds[i:] {
			cells = append(cells, cell{ka.String() + "+" + kb.String(), lab.AddHost(t, ka), lab.AddHost(t, kb)})
		}
	}
	lanA := lab.AddHost(t, netlab.PortRestricted)
	cells = append(cells, cell{"same-lan", lanA, lab.AddHostBehind(t, lanA)})
	stunFlags := []string{"--stun", stun[0], "--stun", stun[1]}
	var table []string
	for _, c := range cells {
		for _, receiverOffers := range []bool{false, true} {
			name := c.name + map[bool]string{false: "/sender-offers", true: "/receiver-offers"}[receiverOffers]
			t.Run(name, func(t *testing.T) {
				run := func(senderOnly []string, flags ...string) cellResult {
					out := filepath.Join(t.TempDir(), "out")
					r := labTransfer(t, bin, c.a, c.b, src, out, receiverOffers, senderOnly, flags...)
					if r.code == 0 && fileSHA256(t, filepath.Join(out, "twenty.bin")) != want {
						t.Fatalf("received file differs")
					}
					return r
				}
				if c.name == "same-lan" {
					r := run(nil, "--no-stun", "--timeout", "10s")
					table = append(table, fmt.Sprintf("%-45s direct %-7s %s <-> %s in %.0f ms (no STUN)", name, r.path, r.local, r.remote, r.connectMS))
					if r.code != 0 || r.path != "lan" {
						t.Fatalf("same LAN without STUN: exit %d, path %q\n%s", r.code, r.path, r.stderr)
					}
					return
				}
				r := run(nil, append(stunFlags, "--timeout", "6s")...)
				if directPossible(c.a.NAT, c.b.NAT) {
					table = append(table, fmt.Sprintf("%-45s direct %-7s %s <-> %s in %.0f ms", name, r.path, r.local, r.remote, r.connectMS))
					if r.code != 0 || r.path == "relayed" || r.path == "" {
						t.Fatalf("want a direct connection: exit %d, path %q\n%s", r.code, r.path, r.stderr)
					}
					return
				}
				if r.code != 3 || !strings.Contains(r.stderr, "--turn") {
					t.Fatalf("want exit 3 with a message pointing at --turn: exit %d\n%s", r.code, r.stderr)
				}
				// Each token says whether its author's NAT is symmetric, so both sides name the cause.
				causes := map[string]int{ // cause -> how many of the two sides' messages name it
					"Your NAT changes ports per destination (symmetric) and your peer's NAT lets in only": 1,
					"Your peer's NAT changes ports per destination (symmetric) and yours lets in only":    1,
				}
				if c.a.NAT == c.b.NAT {
					causes = map[string]int{"Both sides are behind NATs that change ports per destination (symmetric)": 2}
				}
				for cause, want := range causes {
					if n := strings.Count(r.stderr, cause); n != want {
						t.Fatalf("want %d message(s) naming the cause %q, got %d\n%s", want, cause, n, r.stderr)
					}
				}
				table = append(table, fmt.Sprintf("%-45s fails as predicted: exit 3 pointing at --turn", name))
				if coturn == nil {
					return
				}
				turn := []string{"--turn", coturn.URL}
				for round := 1; round <= 3; round++ {
					for _, senderOnly := range []bool{false, true} {
						var r cellResult
						how := "--turn on both sides"
						if senderOnly {
							how = "--turn on the sender only"
							r = run(turn, append(stunFlags, "--timeout", "15s")...)
						} else {
							r = run(nil, append(append(stunFlags, "--timeout", "15s"), turn...)...)
						}
						table = append(table, fmt.Sprintf("%-45s %-26s %s %s <-> %s in %.0f ms", name, how, r.path, r.local, r.remote, r.connectMS))
						if r.code != 0 || r.path != "relayed" {
							t.Fatalf("round %d, %s: want a relayed connection: exit %d, path %q\n%s\ncoturn:\n%s", round, how, r.code, r.path, r.stderr, lastBytes(coturn.Log(), 16<<10))
						}
					}
				}
			})
		}
	}
	t.Logf("matrix (sender side's selected pair):\n%s", strings.Join(table, "\n"))
}

// lastBytes is the end of s, at most n bytes of it.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// TestDropInLab: the receiver's uplink loses every packet for 5 s in the middle of a transfer
// between two NATed hosts; the transfer finishes unaided with identical bytes.
func TestDropInLab(t *testing.T) {
	lab := netlab.New(t)
	bin := binary(t)
	stun := lab.StartSTUN(t)
	a, b := lab.AddHost(t, netlab.PortRestricted), lab.AddHost(t, netlab.FullCone)
	uplink, err := lab.EmulateUplink(b, netlab.LinkConfig{})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "big.bin")
	want := writeRandomFile(t, src, 400_000_000)
	out := filepath.Join(t.TempDir(), "out")
	done := make(chan cellResult, 1)
	start := time.Now()
	go func() {
		done <- labTransfer(t, bin, a, b, src, out, false, nil, "--stun", stun[0], "--stun", stun[1])
	}()
	part := filepath.Join(out, "big.bin.p2pcopy-part")
	for {
		if fi, err := os.Stat(part); err == nil && fi.Size() > 50_000_000 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("transfer ended before the drop (exit %d)\n%s", r.code, r.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := uplink.Set(netlab.LinkConfig{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	dropAt, _ := os.Stat(part)
	time.Sleep(time.Second) // what was already in flight or buffered lands in this second
	settled, _ := os.Stat(part)
	time.Sleep(4 * time.Second)
	during, _ := os.Stat(part)
	if during.Size() != settled.Size() {
		t.Fatalf("%d bytes arrived while the link was down: the drop did not cut the path", during.Size()-settled.Size())
	}
	if err := uplink.Set(netlab.LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("transfer failed across a 5 s drop: exit %d\n%s", r.code, r.stderr)
	}
	if fileSHA256(t, filepath.Join(out, "big.bin")) != want {
		t.Fatal("received file differs")
	}
	t.Logf("400 MB with a 5 s drop at %d MB (%d MB in flight landed in its first second): done in %v, %s <-> %s",
		dropAt.Size()/1_000_000, (settled.Size()-dropAt.Size())/1_000_000, time.Since(start).Round(time.Millisecond), r.local, r.remote)
}
