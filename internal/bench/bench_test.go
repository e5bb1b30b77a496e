//go:build linux

// Package bench is `make bench`: p2pcopy's throughput side by side with plain TCP (and croc) on
// the same path, through the network lab's link emulator, with memory, CPU and time to connect.
// It is a benchmark, not a test: it needs root (the lab), takes minutes and prints one markdown
// table (written to -out as well).
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 90m ./internal/bench -args -p2pcopy bin/p2pcopy -croc bin/tools/croc -out docs/BENCHMARKS.md
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

var (
	binFlag     = flag.String("p2pcopy", "", "the built p2pcopy binary (required)")
	crocFlag    = flag.String("croc", "", "a croc binary for the loopback comparison (row left out when empty)")
	outFlag     = flag.String("out", "", "also write the markdown report to this file")
	sectionFlag = flag.String("sections", "loopback,wan,rss,connect,lan", "comma-separated sections to run")
	loopBytes   = flag.Int64("loopback-bytes", 1<<30, "file size for the loopback rows")
	wanBytes    = flag.Int64("wan-bytes", 100_000_000, "file size for the emulated-WAN rows")
	wanLimit    = flag.Duration("wan-limit", 90*time.Second, "longest a WAN copy may run; the rate so far is reported")
	rssBytes    = flag.Int64("rss-bytes", 10<<30, "sparse file size for the memory/CPU row")
	rttFlag     = flag.String("rtts", "20ms,100ms,300ms", "round-trip times of the emulated-WAN rows")
	lossFlag    = flag.String("losses", "0,0.01", "loss rates (each way) of the emulated-WAN rows")
	tcpFlag     = flag.Bool("tcp", true, "measure TCP beside p2pcopy in the emulated-WAN rows (off: quicker lever trials)")
)

const mb = 1e6

// sctpMTU is pion/webrtc's fixed outbound SCTP packet size (sctpOutboundMTU), which a copy
// starts with; between two CLIs probing grows it (signal/plpmtu.go: 1432 on a 1500-byte IPv4
// path), and the sender's done event reports the size it ended with.
const sctpMTU = 1191

// p2pCeiling is the largest share of a link's Ethernet frame bytes that can be file bytes when
// 64 KiB data messages (plus their 1-byte type) travel in packet-byte SCTP packets.
func p2pCeiling(packet int) float64 { return p2pCeilingWire(packet, 0) }

// p2pCeilingWire is p2pCeiling on a link that also counts extra bytes per frame (24 on an
// Ethernet wire: preamble, FCS and the gap between frames).
func p2pCeilingWire(packet, extra int) float64 {
	const (
		sctpHeaders = 12 + 16 // common header + DATA chunk header
		message     = 64<<10 + 1
	)
	wire := 37 + 8 + 20 + 14 + extra // DTLS 1.2 AES-GCM record, UDP, IPv4, Ethernet
	payload := packet - sctpHeaders
	full := message / payload
	frames := full*(packet+wire) + (message - full*payload + sctpHeaders + wire)
	return float64(message-1) / float64(frames)
}

// report collects the table rows.
type report struct {
	sections []string
}

func (r *report) add(title, header string, rows []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n%s\n|%s\n", title, header, strings.Repeat(" --- |", strings.Count(header, "|")-1))
	for _, row := range rows {
		b.WriteString(row + "\n")
	}
	r.sections = append(r.sections, b.String())
}

// note adds a paragraph under the last table.
func (r *report) note(text string) {
	r.sections[len(r.sections)-1] += "\n" + text + "\n"
}

func BenchmarkP2PCopy(b *testing.B) {
	if *binFlag == "" {
		b.Fatal("-p2pcopy BIN is required (make bench builds it)")
	}
	bin, err := filepath.Abs(*binFlag)
	if err != nil {
		b.Fatal(err)
	}
	run := map[string]bool{}
	for _, s := range strings.Split(*sectionFlag, ",") {
		run[strings.TrimSpace(s)] = true
	}
	for b.Loop() {
		head := header(bin) // before the run: the commit the binary was built from
		rep := &report{}
		lab := netlab.New(b)
		if run["loopback"] {
			loopback(b, lab, bin, rep)
		}
		if run["wan"] {
			wan(b, lab, bin, rep)
		}
		if run["rss"] {
			memory(b, lab, bin, rep)
		}
		if run["connect"] {
			connectTimes(b, lab, bin, rep)
		}
		if run["lan"] {
			lan(b, lab, bin, rep)
		}
		text := head + strings.Join(rep.sections, "\n")
		fmt.Println(text)
		if *outFlag != "" {
			if err := os.WriteFile(*outFlag, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func header(bin string) string {
	version, _ := exec.Command(bin, "--version").CombinedOutput()
	if commit, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		version = append(bytes.TrimSpace(version), " (commit "+strings.TrimSpace(string(commit))+")"...)
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	cpu := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf(`# p2pcopy benchmarks

Written by `+"`make bench`"+` (internal/bench). Every row of a table was measured in the same run.
MB/s are 10^6 bytes per second of file content. Loopback rows time the whole command (connect,
hash, copy, verify); emulated-WAN rows time the data phase (from the connection to the end) so
that a 100 MB copy is not dominated by the handshake.

- date: %s
- version: %s
- machine: %s, %d cores, Linux %s, %s

`, time.Now().UTC().Format("2006-01-02 15:04 MST"), strings.TrimSpace(string(version)), cpu, runtime.NumCPU(),
		strings.TrimSpace(string(kernel)), runtime.Version())
}

// randomFile writes n pseudo-random bytes (incompressible) and returns their SHA-256.
func randomFile(b *testing.B, path string, n int64) [32]byte {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rng, n); err != nil {
		b.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileHash(b *testing.B, path string) [32]byte {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		b.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// copyResult is one p2pcopy run.
type copyResult struct {
	total     time.Duration // start of both processes to the end of both
	data      time.Duration // the sender's "connected" event to the end
	connectMS float64       // the sender's own figure: answer to open channel
	pair      string
	packet    int // the largest SCTP packet the sender sent at the end (its done event)
	sendUsage *syscall.Rusage
	recvUsage *syscall.Rusage
	timedOut  bool
	err       error
}

// p2pcopy copies src from host a to host b with the built binary, both offering (the receiver
// answers the sender's offer, PROTOCOL.md §1.9), their tokens joined by pipes.
func p2pcopy(b *testing.B, bin string, a, bh *netlab.Host, src, outDir string, limit time.Duration, flags ...string) copyResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	send := a.Command(ctx, bin, append([]string{"send", "--json", src}, flags...)...)
	recv := bh.Command(ctx, bin, append([]string{"receive", "-y", "--json", "-o", outDir}, flags...)...)
	a2bR, a2bW, _ := os.Pipe()
	b2aR, b2aW, _ := os.Pipe()
	send.Stdin, send.Stdout = b2aR, a2bW
	recv.Stdin, recv.Stdout = a2bR, b2aW
	var recvErr bytes.Buffer
	recv.Stderr = &recvErr
	sendErr, err := send.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := send.Start(); err != nil {
		b.Fatal(err)
	}
	if err := recv.Start(); err != nil {
		b.Fatal(err)
	}
	for _, f := range []*os.File{a2bR, a2bW, b2aR, b2aW} {
		f.Close()
	}
	var res copyResult
	var connectedAt time.Time
	var log strings.Builder
	sc := bufio.NewScanner(sendErr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		var ev struct {
			Event         string
			ConnectMS     float64 `json:"connect_ms"`
			Local, Remote struct{ Type string }
			PacketBytes   int `json:"packet_bytes"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Event {
		case "connected":
			connectedAt = time.Now()
			res.connectMS = ev.ConnectMS
			res.pair = ev.Local.Type + "↔" + ev.Remote.Type
		case "done":
			res.packet = ev.PacketBytes
		}
	}
	serr, rerr := send.Wait(), recv.Wait()
	end := time.Now()
	res.total = end.Sub(start)
	if !connectedAt.IsZero() {
		res.data = end.Sub(connectedAt)
	}
	res.timedOut = ctx.Err() != nil
	if send.ProcessState != nil {
		res.sendUsage, _ = send.ProcessState.SysUsage().(*syscall.Rusage)
	}
	if recv.ProcessState != nil {
		res.recvUsage, _ = recv.ProcessState.SysUsage().(*syscall.Rusage)
	}
	if (serr != nil || rerr != nil) && !res.timedOut {
		res.err = fmt.Errorf("send: %v, receive: %v\nsender:\n%sreceiver:\n%s", serr, rerr, log.String(), recvErr.String())
	}
	return res
}

// received is how much of the file reached outDir (final or part file).
func received(outDir, name string) int64 {
	for _, n := range []string{name, name + ".p2pcopy-part"} {
		if fi, err := os.Stat(filepath.Join(outDir, n)); err == nil {
			return fi.Size()
		}
	}
	return 0
}

// cubic makes a dialer or listener use TCP cubic (this kernel's default may be bbr).
func cubic(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "cubic")
	})
	if err != nil {
		return err
	}
	return serr
}

// tcpCopy sends the file over one plain TCP connection (cubic) from a to bh, writing it to dst,
// and returns the bytes that arrived and the time from the connection to the last byte.
func tcpCopy(b *testing.B, a, bh *netlab.Host, src, dst string, limit time.Duration) (int64, time.Duration) {
	return tcpCopyWith(b, a, bh, src, dst, limit, nil)
}

// tlsCopy is tcpCopy with TLS 1.3 on the connection and SHA-256 over the file on both sides:
// the work p2pcopy does (encrypt, hash, verify) without DTLS, SCTP and user-space UDP.
func tlsCopy(b *testing.B, a, bh *netlab.Host, src, dst string, limit time.Duration) (int64, time.Duration) {
	b.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return tcpCopyWith(b, a, bh, src, dst, limit, &tlsWrap{cert: cert})
}

type tlsWrap struct{ cert tls.Certificate }

func (w *tlsWrap) server(c net.Conn) net.Conn {
	return tls.Server(c, &tls.Config{Certificates: []tls.Certificate{w.cert}, MinVersion: tls.VersionTLS13})
}

func (w *tlsWrap) client(c net.Conn) net.Conn {
	// A benchmark of the cipher, not of authentication: the certificate is not checked.
	return tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
}

func tcpCopyWith(b *testing.B, a, bh *netlab.Host, src, dst string, limit time.Duration, secure *tlsWrap) (int64, time.Duration) {
	b.Helper()
	var ln net.Listener
	addr := netip.AddrPortFrom(bh.Addr, 7400)
	if err := bh.Run(b, func() (err error) {
		ln, err = (&net.ListenConfig{Control: cubic}).Listen(context.Background(), "tcp4", addr.String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		n   int64
		end time.Time
		err error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(limit))
		f, err := os.Create(dst)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer f.Close()
		var w io.Writer = f
		if secure != nil {
			c = secure.server(c)
			w = io.MultiWriter(f, sha256.New())
		}
		n, err := io.Copy(w, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			err = nil
		}
		got <- result{n: n, end: time.Now(), err: err}
	}()
	var c net.Conn
	if err := a.Run(b, func() (err error) {
		c, err = (&net.Dialer{Control: cubic, Timeout: 10 * time.Second}).Dial("tcp4", addr.String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(limit))
	var r io.Reader = f
	if secure != nil {
		c = secure.client(c)
		r = io.TeeReader(f, sha256.New())
	}
	_, _ = io.Copy(c, r)
	f.Close()
	c.Close()
	res := <-got
	if res.err != nil {
		b.Fatalf("tcp copy: %v", res.err)
	}
	return res.n, res.end.Sub(start)
}

func rate(n int64, d time.Duration) float64 { return float64(n) / mb / d.Seconds() }

func loopback(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	h := lab.AddHost(b, netlab.None) // both peers in one namespace: traffic goes over lo
	dir := b.TempDir()
	src := filepath.Join(dir, "file.bin")
	want := randomFile(b, src, *loopBytes)
	size := *loopBytes
	var rows []string

	out := filepath.Join(dir, "p2pcopy-out")
	r := p2pcopy(b, bin, h, h, src, out, 10*time.Minute, "--no-stun")
	if r.err != nil || r.timedOut {
		b.Fatalf("p2pcopy on loopback failed (timed out: %v): %v", r.timedOut, r.err)
	}
	if fileHash(b, filepath.Join(out, "file.bin")) != want {
		b.Fatal("p2pcopy on loopback: received file differs")
	}
	p2p := rate(size, r.total)
	os.RemoveAll(out)

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
		fmt.Sprintf("| p2pcopy CLI → CLI (built binary, DTLS + SCTP) | %.1f | 1.00 | %s |", p2p, r.pair),
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

func wan(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	a, bh := lab.AddHost(b, netlab.None), lab.AddHost(b, netlab.None)
	link, err := lab.EmulateUplink(a, netlab.LinkConfig{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "file.bin")
	want := randomFile(b, src, *wanBytes)
	const linkRate = 100_000_000
	var rows []string
	var rtts []time.Duration
	var losses []float64
	packet := sctpMTU // the largest packet size any row's sender ended with
	for _, v := range strings.Split(*rttFlag, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			b.Fatalf("-rtts: %v", err)
		}
		rtts = append(rtts, d)
	}
	for _, v := range strings.Split(*lossFlag, ",") {
		var f float64
		if _, err := fmt.Sscan(strings.TrimSpace(v), &f); err != nil {
			b.Fatalf("-losses: %v", err)
		}
		losses = append(losses, f)
	}
	for _, rtt := range rtts {
		for _, loss := range losses {
			cfg := netlab.LinkConfig{Rate: linkRate, Delay: rtt / 2, Loss: loss}
			if err := link.Set(cfg); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			r := p2pcopy(b, bin, a, bh, src, out, *wanLimit, "--no-stun")
			if r.err != nil {
				b.Fatalf("p2pcopy over %v: %v", cfg, r.err)
			}
			packet = max(packet, r.packet)
			got := received(out, "file.bin")
			note := ""
			if r.timedOut {
				note = fmt.Sprintf("stopped after %v with %.0f MB", *wanLimit, float64(got)/mb)
			} else if fileHash(b, filepath.Join(out, "file.bin")) != want {
				b.Fatal("p2pcopy over the emulated WAN: received file differs")
			}
			p2p := rate(got, r.data)
			os.RemoveAll(out)
			if r.data == 0 {
				p2p = 0
			}

			n, d := *wanBytes, time.Duration(0)
			if *tcpFlag {
				n, d = tcpCopy(b, a, bh, src, filepath.Join(dir, "tcp.bin"), *wanLimit)
			}
			tcp := rate(n, d)
			if n < *wanBytes {
				note = strings.TrimPrefix(note+fmt.Sprintf("; TCP stopped after %v with %.0f MB", *wanLimit, float64(n)/mb), "; ")
			}
			os.Remove(filepath.Join(dir, "tcp.bin"))
			linkMB := float64(linkRate) / 8 / mb
			rows = append(rows, fmt.Sprintf("| %v | %g %% | %.2f | %.2f | %.2f | %.2f | %.0f %% | %s |",
				rtt, loss*100, p2p, tcp, linkMB, p2p/tcp, 100*p2p/linkMB, note))
			fmt.Fprintf(os.Stderr, "WAN %v: p2pcopy %.2f MB/s (%s), TCP %.2f MB/s\n", cfg, p2p, r.pair, tcp)
			b.Logf("WAN %v: p2pcopy %.2f MB/s (%s), TCP %.2f MB/s; link stats so far %+v", cfg, p2p, r.pair, tcp, link.Stats())
		}
	}
	rep.add(fmt.Sprintf("2. Emulated WAN: 100 Mbit/s, %.0f MB file, public hosts, emulator on the sender's uplink", float64(*wanBytes)/mb),
		"| RTT | loss each way | p2pcopy MB/s | TCP cubic MB/s | link MB/s | p2pcopy ÷ TCP | p2pcopy ÷ link | note |", rows)
	rep.note(fmt.Sprintf("The link rate counts whole Ethernet frames. pion sends SCTP packets of at most %d bytes "+
		"(a constant in pion/webrtc, safe on any Internet path); between two CLIs each side probes the path and "+
		"grows them (RFC 8899; here to %d bytes, as the senders reported). Every packet also carries a DTLS record "+
		"header, nonce and tag (37 bytes), UDP, IPv4 and Ethernet headers (42 bytes) and a DATA chunk header "+
		"(16 bytes in the SCTP packet): at most %.1f %% of the frame bytes can be file bytes with %d-byte packets "+
		"(%.2f MB/s here), %.1f %% with %d-byte ones. TCP's ceiling with 1448-byte segments in 1514-byte frames is "+
		"%.1f %%.", sctpMTU, packet, 100*p2pCeiling(packet), packet, p2pCeiling(packet)*float64(linkRate)/8/mb,
		100*p2pCeiling(sctpMTU), sctpMTU, 100*1448.0/1514))
}

func memory(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	h := lab.AddHost(b, netlab.None)
	dir := b.TempDir()
	src := filepath.Join(dir, "sparse.bin")
	if err := os.WriteFile(src, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(src, *rssBytes); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := p2pcopy(b, bin, h, h, src, out, 30*time.Minute, "--no-stun")
	if r.err != nil || r.timedOut {
		b.Fatalf("p2pcopy of a %d-byte sparse file failed (timed out: %v): %v", *rssBytes, r.timedOut, r.err)
	}
	if got := received(out, "sparse.bin"); got != *rssBytes {
		b.Fatalf("received %d of %d bytes", got, *rssBytes)
	}
	os.RemoveAll(out)
	gb := float64(*rssBytes) / 1e9
	cpu := func(u *syscall.Rusage) float64 {
		return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
	}
	rows := []string{
		fmt.Sprintf("| sender | %.0f | %.1f | %.1f |", float64(r.sendUsage.Maxrss)/1024, cpu(r.sendUsage)/gb, float64(*rssBytes)/mb/r.total.Seconds()),
		fmt.Sprintf("| receiver | %.0f | %.1f | %.1f |", float64(r.recvUsage.Maxrss)/1024, cpu(r.recvUsage)/gb, float64(*rssBytes)/mb/r.total.Seconds()),
	}
	rep.add(fmt.Sprintf("3. Memory and CPU: %.0f GiB sparse file on loopback, written to disk", float64(*rssBytes)/(1<<30)),
		"| side | peak RSS (MiB) | CPU s per GB (user+sys) | MB/s |", rows)
}

// connectTimes measures, with the receiver offering, the time from the answer written to the
// receiver's stdin to the first byte of the file on its disk.
func connectTimes(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	stun := lab.StartSTUN(b)
	lanA := lab.AddHost(b, netlab.PortRestricted)
	lanB := lab.AddHostBehind(b, lanA)
	natA, natB := lab.AddHost(b, netlab.PortRestricted), lab.AddHost(b, netlab.PortRestricted)
	src := filepath.Join(b.TempDir(), "small.bin")
	randomFile(b, src, 1_000_000)
	var rows []string
	for _, c := range []struct {
		name  string
		a, b  *netlab.Host
		flags []string
	}{
		{"same LAN (host↔host, --no-stun)", lanA, lanB, []string{"--no-stun"}},
		{"two port-restricted NATs (STUN in the lab)", natA, natB, []string{"--stun", stun[0], "--stun", stun[1], "--no-dht"}},
	} {
		var times []time.Duration
		var pair string
		for range 5 {
			d, p := firstByte(b, bin, c.a, c.b, src, c.flags)
			times = append(times, d)
			pair = p
		}
		slices.Sort(times)
		rows = append(rows, fmt.Sprintf("| %s | %v | %v | %v | %s |", c.name,
			times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), pair))
	}
	rep.add("4. Time from the answer pasted to the first byte on disk (receiver offers, 5 runs)",
		"| path | median | min | max | pair (sender's view) |", rows)
	rep.note("The answer pasted races its own copy sent directly (one paste, §4): on one LAN the direct one usually wins.")
	onePasteTimes(b, lab, bin, stun, src, rep)
}

func firstByte(b *testing.B, bin string, a, bh *netlab.Host, src string, flags []string) (time.Duration, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := b.TempDir()
	recv := bh.Command(ctx, bin, append([]string{"receive", "-y", "-o", out}, flags...)...)
	recvIn, _ := recv.StdinPipe()
	recvOut, _ := recv.StdoutPipe()
	var recvErr bytes.Buffer
	recv.Stderr = &recvErr
	if err := recv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { recv.Process.Kill(); recv.Wait() }()
	offer, err := bufio.NewReader(recvOut).ReadString('\n')
	if err != nil {
		b.Fatalf("no offer: %v\n%s", err, recvErr.String())
	}
	send := a.Command(ctx, bin, append([]string{"send", "--json", src, strings.TrimSpace(offer)}, flags...)...)
	sendOut, _ := send.StdoutPipe()
	var sendErr bytes.Buffer
	send.Stderr = &sendErr
	if err := send.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { send.Process.Kill(); send.Wait() }()
	answer, err := bufio.NewReader(sendOut).ReadString('\n')
	if err != nil {
		b.Fatalf("no answer: %v\n%s", err, sendErr.String())
	}
	t0 := time.Now()
	if _, err := io.WriteString(recvIn, answer); err != nil {
		b.Fatal(err)
	}
	for received(out, "small.bin") == 0 {
		if ctx.Err() != nil {
			b.Fatalf("no byte arrived\nsender:\n%s\nreceiver:\n%s", sendErr.String(), recvErr.String())
		}
		time.Sleep(200 * time.Microsecond)
	}
	d := time.Since(t0)
	send.Wait()
	pair := ""
	for _, line := range strings.Split(sendErr.String(), "\n") {
		var ev struct {
			Event         string
			Local, Remote struct{ Type string }
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "connected" {
			pair = ev.Local.Type + "↔" + ev.Remote.Type
		}
	}
	return d, pair
}
