package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOnePasteSameLAN: on one LAN with no STUN server, `p2pcopy receive -y TOKEN` alone completes
// the copy: the sender's stdin stays open and silent, and the answer comes back directly. Both
// sides say so.
func TestOnePasteSameLAN(t *testing.T) {
	bin := binary(t)
	src := filepath.Join(t.TempDir(), "lan.bin")
	want := writeRandomFile(t, src, 3_000_000)
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sender := exec.CommandContext(ctx, bin, "send", "--no-stun", "--json", src)
	stdin, _ := sender.StdinPipe() // open, and never written to
	defer stdin.Close()
	stdout, _ := sender.StdoutPipe()
	var sendErr, recvErr syncBuffer
	sender.Stderr = &sendErr
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sender.Process.Kill() }()
	lines := bufio.NewReader(stdout)
	offer, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("no offer: %v\n%s", err, sendErr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, lines) }()
	receiver := exec.CommandContext(ctx, bin, "receive", "-y", "--no-stun", "--json", "-o", out, strings.TrimSpace(offer))
	receiver.Stdout, receiver.Stderr = io.Discard, &recvErr
	if err := receiver.Run(); err != nil {
		t.Fatalf("receiver: %v\n%s\nsender:\n%s", err, recvErr.String(), sendErr.String())
	}
	if err := sender.Wait(); err != nil {
		t.Fatalf("sender: %v\n%s", err, sendErr.String())
	}
	if fileSHA256(t, filepath.Join(out, "lan.bin")) != want {
		t.Fatal("received file differs")
	}
	for side, events := range map[string]string{"sender": sendErr.String(), "receiver": recvErr.String()} {
		if via, _ := answerVia(events, time.Now()); via != "direct" {
			t.Fatalf("%s says the answer travelled %q, want direct\n%s", side, via, events)
		}
	}
}

// answerVia reads a side's --json events: how the answer travelled, and when it connected.
func answerVia(events string, start time.Time) (via string, connected time.Duration) {
	for _, line := range strings.Split(events, "\n") {
		var ev struct{ Event, Via string }
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		switch ev.Event {
		case "answer-via":
			via = ev.Via
		case "connected":
			if connected == 0 {
				connected = time.Since(start)
			}
		}
	}
	return via, connected
}
