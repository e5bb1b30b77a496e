//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// onePasteTimes measures one paste (docs/PROTOCOL.md §4): the sender offers, the receiver is
// started with the offer and nothing is pasted back; the time runs from the receiver's start
// to the first byte on its disk, for each way the answer can travel back by itself.
func onePasteTimes(b *testing.B, lab *netlab.Lab, bin string, stun []string, src string, rep *report) {
	flags := []string{"--stun", stun[0], "--stun", stun[1], "--dht-bootstrap", strings.Join(lab.StartDHT(b, 20), ",")}
	public, prA, prB := lab.AddHost(b, netlab.None), lab.AddHost(b, netlab.PortRestricted), lab.AddHost(b, netlab.PortRestricted)
	var rows []string
	for _, c := range []struct {
		name string
		a, b *netlab.Host
	}{
		{"public sender ↔ port-restricted receiver", public, prA},
		{"two port-restricted NATs (DHT of 20 nodes in the lab)", prA, prB},
	} {
		var times []time.Duration
		vias := map[string]int{}
		for range 5 {
			d, via := firstByteOnePaste(b, bin, c.a, c.b, src, flags)
			times = append(times, d)
			vias[via]++
		}
		slices.Sort(times)
		rows = append(rows, fmt.Sprintf("| %s | %v | %v | %v | %s |", c.name,
			times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), viaText(vias)))
	}
	rep.add("4b. One paste: from the receiver started with the offer to the first byte on disk, nothing pasted back (5 runs)",
		"| path | median | min | max | answer came back |", rows)
}

func viaText(vias map[string]int) string {
	var parts []string
	for _, k := range []string{"direct", "mailbox", "paste", ""} {
		if n := vias[k]; n > 0 {
			name := k
			if k == "" {
				name = "not said"
			}
			parts = append(parts, fmt.Sprintf("%s ×%d", name, n))
		}
	}
	return strings.Join(parts, ", ")
}

func firstByteOnePaste(b *testing.B, bin string, a, bh *netlab.Host, src string, flags []string) (time.Duration, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := b.TempDir()
	send := a.Command(ctx, bin, append([]string{"send", "--json", src}, flags...)...)
	sendIn, _ := send.StdinPipe() // open and silent: nobody pastes
	defer sendIn.Close()
	sendOut, _ := send.StdoutPipe()
	var sendErr, recvErr bytes.Buffer
	send.Stderr = &sendErr
	if err := send.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { send.Process.Kill(); send.Wait() }()
	lines := bufio.NewReader(sendOut)
	offer, err := lines.ReadString('\n')
	if err != nil {
		b.Fatalf("no offer: %v\n%s", err, sendErr.String())
	}
	go io.Copy(io.Discard, lines)
	t0 := time.Now()
	recv := bh.Command(ctx, bin, append([]string{"receive", "-y", "-o", out, strings.TrimSpace(offer)}, flags...)...)
	recv.Stderr = &recvErr
	if err := recv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { recv.Process.Kill(); recv.Wait() }()
	for received(out, filepath.Base(src)) == 0 {
		if ctx.Err() != nil {
			b.Fatalf("no byte arrived\nsender:\n%s\nreceiver:\n%s", sendErr.String(), recvErr.String())
		}
		time.Sleep(200 * time.Microsecond)
	}
	d := time.Since(t0)
	send.Wait()
	via := ""
	for _, line := range strings.Split(sendErr.String(), "\n") {
		var ev struct{ Event, Via string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "answer-via" {
			via = ev.Via
		}
	}
	return d, via
}
