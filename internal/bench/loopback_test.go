//go:build linux

package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// Section 1: loopback, p2pcopy against TCP, TLS and croc on one machine.

func loopback(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	h := lab.AddHost(b, netlab.None) // both peers in one namespace: traffic goes over lo
	dir := b.TempDir()
	src := filepath.Join(dir, "file.bin")
	want := randomFile(b, src, *loopBytes)
	warmDisk(b, dir, *loopBytes)
	size := *loopBytes
	var rows []string

	out := filepath.Join(dir, "p2pcopy-out")
	copyOnce := func(env []string) func() timedRun {
		return func() timedRun {
			r := p2pcopyEnv(b, bin, env, h, h, src, out, 10*time.Minute, "--no-stun")
			if r.err != nil || r.timedOut {
				b.Fatalf("p2pcopy on loopback failed (timed out: %v): %v", r.timedOut, r.err)
			}
			if fileHash(b, filepath.Join(out, "file.bin")) != want {
				b.Fatal("p2pcopy on loopback: received file differs")
			}
			os.RemoveAll(out)
			fmt.Fprintf(os.Stderr, "loopback %v: %.1f MB/s\n", env, rate(size, r.total))
			return timedRun{rate: rate(size, r.total), r: r}
		}
	}
	m := interleavedMedians(copyOnce(nil), copyOnce(noOffloadEnv))
	p2p, r, noOffload, rn := m[0].rate, m[0].r, m[1].rate, m[1].r

	n, d := tcpCopy(b, h, h, src, filepath.Join(dir, "tcp.bin"), 10*time.Minute)
	if n != size {
		b.Fatalf("tcp copy moved %d of %d bytes", n, size)
	}
	tcp := rate(size, d)
	os.Remove(filepath.Join(dir, "tcp.bin"))
	if n, d = tlsCopy(b, h, h, src, filepath.Join(dir, "tls.bin"), 10*time.Minute); n != size {
		b.Fatalf("tls copy moved %d of %d bytes", n, size)
	}
	tlsRate := rate(size, d)
	os.Remove(filepath.Join(dir, "tls.bin"))

	rows = append(rows,
		fmt.Sprintf("| p2pcopy CLI → CLI (built binary, DTLS + SCTP, UDP GSO/GRO) | %.1f | 1.00 | %s, %d-byte SCTP packets; CPU per GB: sender %.1f s, receiver %.1f s; median of %d runs |",
			p2p, r.pair, r.packet, cpuPerGB(r.sendUsage, size), cpuPerGB(r.recvUsage, size), p2pcopyRuns),
		fmt.Sprintf("| p2pcopy without UDP GSO/GRO (P2PCOPY_UDP_OFFLOAD=0) | %.1f | %.2f | CPU per GB: sender %.1f s, receiver %.1f s |",
			noOffload, p2p/noOffload, cpuPerGB(rn.sendUsage, size), cpuPerGB(rn.recvUsage, size)),
		fmt.Sprintf("| plain TCP (Go, one connection, no encryption, no hash) | %.1f | %.2f | p2pcopy at %.0f %% of it |", tcp, p2p/tcp, 100*p2p/tcp),
		fmt.Sprintf("| TCP + TLS 1.3 + SHA-256 both sides (Go) | %.1f | %.2f | the same work without DTLS/SCTP/UDP |", tlsRate, p2p/tlsRate))
	if *crocFlag != "" {
		croc, ver := crocCopy(b, h, *crocFlag, src, filepath.Join(dir, "croc-out"), want)
		rows = append(rows, fmt.Sprintf("| croc %s (local relay, whole command) | %.1f | %.2f | p2pcopy %.2f× croc |", ver, croc, p2p/croc, p2p/croc))
	} else {
		rows = append(rows, "| croc | – | – | not measured (no -croc binary) |")
	}
	if _, err := exec.LookPath("sshd"); err != nil {
		rows = append(rows, "| scp | – | – | not measured: no sshd on this machine |")
	}
	rep.add(fmt.Sprintf("1. Loopback, %.2f GiB random file, one machine", float64(size)/(1<<30)),
		"| tool | MB/s | p2pcopy ÷ tool | note |", rows)
}

// crocCopy runs croc's relay, sender and receiver in h and returns MB/s for the whole receive.
func crocCopy(b *testing.B, h *netlab.Host, croc, src, outDir string, want [32]byte) (float64, string) {
	b.Helper()
	r := crocRun(b, h, h, croc, src, outDir, want)
	return rate(*loopBytes, r.d), r.version
}

// crocResult is one croc copy: the receiver's whole command, and each process's usage.
type crocResult struct {
	d                                time.Duration
	version                          string
	sendUsage, recvUsage, relayUsage *syscall.Rusage
}

// crocRun runs croc's relay and sender in a and its receiver in bh (which may be a).
func crocRun(b *testing.B, a, bh *netlab.Host, croc, src, outDir string, want [32]byte) crocResult {
	b.Helper()
	settle()
	ver, _ := exec.Command(croc, "--version").Output()
	version := strings.TrimPrefix(strings.TrimSpace(string(ver)), "croc version ")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	home := b.TempDir()
	env := append(os.Environ(), "HOME="+home, "CROC_SECRET=p2pcopy-bench-7261")
	relayAddr := a.Addr.String() + ":9009"
	relay := a.Command(ctx, croc, "relay", "--host", a.Addr.String())
	relay.Env = env
	if err := relay.Start(); err != nil {
		b.Fatal(err)
	}
	res := crocResult{version: version}
	relayDone := false
	defer func() {
		if !relayDone {
			relay.Process.Kill()
			relay.Wait()
		}
	}()
	time.Sleep(time.Second)
	os.MkdirAll(outDir, 0o755)
	send := a.Command(ctx, croc, "--relay", relayAddr, "--yes", "send", "--no-local", src)
	send.Env = env
	var sendOut bytes.Buffer
	send.Stdout, send.Stderr = &sendOut, &sendOut
	if err := send.Start(); err != nil {
		b.Fatal(err)
	}
	sendDone := false
	defer func() {
		if !sendDone {
			send.Process.Kill()
			send.Wait()
		}
	}()
	time.Sleep(time.Second)
	recv := bh.Command(ctx, croc, "--relay", relayAddr, "--yes", "--overwrite", "--out", outDir)
	recv.Env = env
	start := time.Now()
	out, err := recv.CombinedOutput()
	res.d = time.Since(start)
	if err != nil {
		b.Fatalf("croc receive: %v\n%s\nsender:\n%s", err, out, sendOut.String())
	}
	if fileHash(b, filepath.Join(outDir, filepath.Base(src))) != want {
		b.Fatal("croc: received file differs")
	}
	os.RemoveAll(outDir)
	res.recvUsage, _ = recv.ProcessState.SysUsage().(*syscall.Rusage)
	// The sender ends by itself once the receiver has everything; the relay never does.
	wait := time.AfterFunc(10*time.Second, func() { send.Process.Kill() })
	send.Wait()
	wait.Stop()
	sendDone = true
	res.sendUsage, _ = send.ProcessState.SysUsage().(*syscall.Rusage)
	relay.Process.Kill()
	relay.Wait()
	relayDone = true
	res.relayUsage, _ = relay.ProcessState.SysUsage().(*syscall.Rusage)
	return res
}
