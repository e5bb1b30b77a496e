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
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// warmDisk writes n bytes to a scratch file in dir, flushes and removes it, before the first row
// writes its copy there. The first 1 GiB written on this machine's ext4 cost its writer several
// times the system time of the next ones (receiver: 4.3 s per GB against 2.2, whichever setting
// ran first, 130 against 350 MB/s): finding room for a new file is slow until space was just
// freed, and every later row writes into the room the row before it freed.
func warmDisk(b *testing.B, dir string, n int64) {
	b.Helper()
	path := filepath.Join(dir, "warm.bin")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, zeros{}, n); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Remove(path); err != nil {
		b.Fatal(err)
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// p2pcopyRuns is how many times the loopback and LAN sections copy with each p2pcopy setting,
// interleaved (default, other, default, …), reporting each setting's median run: on this
// shared 2-core machine one copy of 1 GiB varied by up to 2× between runs in a row.
const p2pcopyRuns = 3

// timedRun is one p2pcopy copy as a section reports it: its rate and what it printed.
type timedRun struct {
	rate float64
	r    copyResult
	note string // for the table: whatever only this run saw (the shaper's drops)
}

// interleavedMedians calls each setting p2pcopyRuns times, one after another in turn, and
// returns each one's run of median rate.
func interleavedMedians(settings ...func() timedRun) []timedRun {
	runs := make([][]timedRun, len(settings))
	for range p2pcopyRuns {
		for i, run := range settings {
			runs[i] = append(runs[i], run())
		}
	}
	medians := make([]timedRun, len(settings))
	for i, rs := range runs {
		slices.SortFunc(rs, func(x, y timedRun) int { return cmp.Compare(x.rate, y.rate) })
		medians[i] = rs[len(rs)/2]
	}
	return medians
}

// settle writes every dirty page of the machine to disk (sync(2)) before a timed copy: the
// kernel writes them back in the background, and a copy that runs while the 1 GiB source file
// just written (or an earlier row's output) goes to disk would pay for it in its own writes.
func settle() { syscall.Sync() }

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
	return p2pcopyEnv(b, bin, nil, a, bh, src, outDir, limit, flags...)
}

// noOffloadEnv switches UDP GSO/GRO off in both CLIs (cmd/p2pcopy: P2PCOPY_UDP_OFFLOAD=0; on by
// default), so the bench shows the lever beside the default in one run.
var noOffloadEnv = []string{"P2PCOPY_UDP_OFFLOAD=0"}

// p2pcopyEnv is p2pcopy with extra environment variables for both processes.
func p2pcopyEnv(b *testing.B, bin string, env []string, a, bh *netlab.Host, src, outDir string, limit time.Duration, flags ...string) copyResult {
	b.Helper()
	settle()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	send := a.Command(ctx, bin, append([]string{"send", "--json", src}, flags...)...)
	recv := bh.Command(ctx, bin, append([]string{"receive", "-y", "--json", "-o", outDir}, flags...)...)
	if env != nil {
		send.Env = append(os.Environ(), env...)
		recv.Env = send.Env
	}
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

func rate(n int64, d time.Duration) float64 { return float64(n) / mb / d.Seconds() }

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
