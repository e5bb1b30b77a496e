//go:build linux

package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// onePasteRun is what one copy with a single paste did: each side's exit code, how each side
// says the answer travelled, and their stderr.
type onePasteRun struct {
	sendCode, recvCode int
	sendVia, recvVia   string
	stderr             string
	pasteToConnected   time.Duration // from the receiver's start (the one paste) to the sender's "connected"
}

// labOnePaste has host a send src with an offer and host b receive it with `receive -y TOKEN`. The
// sender's stdin stays open and silent unless pasteBack: then the receiver's answer is pasted
// into it, as a person would when nothing else carried it — once both sides printed waitFor.
func labOnePaste(t *testing.T, bin string, a, b *netlab.Host, src, out string, pasteBack bool, waitFor string, flags ...string) onePasteRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sender := a.Command(ctx, bin, append(append([]string{"send", "--json"}, flags...), src)...)
	sendIn, _ := sender.StdinPipe()
	defer sendIn.Close()
	sendOut, _ := sender.StdoutPipe()
	var sendErr, recvErr syncBuffer
	sender.Stderr = &sendErr
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sender.Process.Kill() }()
	lines := bufio.NewReader(sendOut)
	offer, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("no offer from the sender: %v\n%s", err, sendErr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, lines) }()
	start := time.Now()
	receiver := b.Command(ctx, bin, append(append([]string{"receive", "-y", "--json", "-o", out}, flags...), strings.TrimSpace(offer))...)
	recvOut, _ := receiver.StdoutPipe()
	receiver.Stderr = &recvErr
	if err := receiver.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = receiver.Process.Kill() }()
	answer, _ := bufio.NewReader(recvOut).ReadString('\n')
	if pasteBack {
		for deadline := time.Now().Add(20 * time.Second); waitFor != "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(sendErr.String(), waitFor) && strings.Contains(recvErr.String(), waitFor) {
				break
			}
		}
		_, _ = io.WriteString(sendIn, answer)
	}
	r := onePasteRun{sendCode: exitCodeOf(sender.Wait()), recvCode: exitCodeOf(receiver.Wait())}
	r.stderr = "sender:\n" + sendErr.String() + "receiver:\n" + recvErr.String()
	r.sendVia, r.pasteToConnected = answerVia(sendErr.String(), start)
	r.recvVia, _ = answerVia(recvErr.String(), start)
	return r
}

// TestOnePasteInLab: one paste is enough. The receiver pastes the sender's token and nothing
// travels back by hand: behind a public or full-cone offerer the answer arrives directly; between
// two port-restricted NATs through the DHT mailbox on the lab's internet; and with no DHT to
// reach both sides say so and a pasted answer still works.
func TestOnePasteInLab(t *testing.T) {
	lab := netlab.New(t)
	bin := binary(t)
	stun := lab.StartSTUN(t)
	dht := []string{"--dht-bootstrap", strings.Join(lab.StartDHT(t, 20), ",")}
	src := filepath.Join(t.TempDir(), "five.bin")
	want := writeRandomFile(t, src, 5_000_000)
	stunFlags := []string{"--stun", stun[0], "--stun", stun[1], "--timeout", "15s"}
	cases := []struct {
		name      string
		a, b      netlab.NAT
		flags     []string
		pasteBack bool
		via       string
		warning   string // both sides' stderr must say this
	}{
		{"public-offerer/direct", netlab.None, netlab.PortRestricted, dht, false, "direct", ""},
		{"full-cone-offerer/direct", netlab.FullCone, netlab.PortRestricted, dht, false, "direct", ""},
		{"port-restricted-pair/mailbox", netlab.PortRestricted, netlab.PortRestricted, dht, false, "mailbox", ""},
		{"no-dht/paste", netlab.PortRestricted, netlab.PortRestricted,
			[]string{"--dht-bootstrap", lab.Internet().Addr.String() + ":9"}, true, "paste", "no DHT node answered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			r := labOnePaste(t, bin, lab.AddHost(t, tc.a), lab.AddHost(t, tc.b), src, out, tc.pasteBack, tc.warning, append(stunFlags, tc.flags...)...)
			t.Logf("%s: answer via %q/%q, paste to connected %v", tc.name, r.sendVia, r.recvVia, r.pasteToConnected.Round(time.Millisecond))
			if r.sendCode != 0 || r.recvCode != 0 {
				t.Fatalf("exit %d/%d\n%s", r.sendCode, r.recvCode, r.stderr)
			}
			if got := fileSHA256(t, filepath.Join(out, "five.bin")); got != want {
				t.Fatal("received file differs")
			}
			if r.sendVia != tc.via || r.recvVia != tc.via {
				t.Fatalf("answer travelled %q (sender) / %q (receiver), want %q on both\n%s", r.sendVia, r.recvVia, tc.via, r.stderr)
			}
			if tc.warning != "" && strings.Count(r.stderr, tc.warning) != 2 {
				t.Fatalf("want both sides to say %q\n%s", tc.warning, r.stderr)
			}
		})
	}
}
