//go:build linux

package bench

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// peerEnv, set in a child's environment, makes this test binary one side of a TCP copy
// (peerMain) instead of running benchmarks: the LAN rows run their yardsticks' two sides as
// two processes, so that each side's CPU time is its own, as it is for p2pcopy and croc.
const peerEnv = "P2PCOPY_BENCH_PEER"

func TestMain(m *testing.M) {
	if os.Getenv(peerEnv) != "" {
		if err := peerMain(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// peerReport is what a receiving peer prints on its stdout at the end.
type peerReport struct {
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"` // from the accepted connection to its end
}

// peerMain runs one side: "send|recv plain|tls ADDR FILE". The receiver listens on ADDR, prints
// "ready", writes what arrives to FILE and prints a peerReport; the sender sends FILE to ADDR.
// With tls, the connection is TLS 1.3 and both sides hash the file with SHA-256, as tlsCopy.
func peerMain(args []string) error {
	if len(args) != 4 || (args[0] != "send" && args[0] != "recv") || (args[1] != "plain" && args[1] != "tls") {
		return fmt.Errorf("usage: send|recv plain|tls ADDR FILE, got %q", args)
	}
	secure := args[1] == "tls"
	if args[0] == "send" {
		return peerSend(args[2], args[3], secure)
	}
	return peerRecv(args[2], args[3], secure)
}

func peerRecv(addr, path string, secure bool) error {
	ln, err := (&net.ListenConfig{Control: cubic}).Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var wrap *tlsWrap
	if secure {
		cert, err := selfSigned()
		if err != nil {
			return err
		}
		wrap = &tlsWrap{cert: cert}
	}
	fmt.Println("ready")
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	if wrap != nil {
		c = wrap.server(c)
		w = io.MultiWriter(f, sha256.New())
	}
	n, err := io.Copy(w, c)
	end := time.Now()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(peerReport{Bytes: n, Seconds: end.Sub(start).Seconds()})
}

func peerSend(addr, path string, secure bool) error {
	c, err := (&net.Dialer{Control: cubic, Timeout: 10 * time.Second}).Dial("tcp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if secure {
		c = (&tlsWrap{}).client(c)
		r = io.TeeReader(f, sha256.New())
	}
	if _, err := io.Copy(c, r); err != nil {
		return err
	}
	return c.Close()
}

// selfSigned is tlsCopy's certificate, returning its error.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// peerResult is one copy between two peer processes.
type peerResult struct {
	n         int64
	d         time.Duration
	sendUsage *syscall.Rusage
	recvUsage *syscall.Rusage
}

// peerCopy copies src from a to bh over one TCP connection (TLS 1.3 + SHA-256 when secure),
// each side a child process of this test binary in its host's namespace, writing to dst.
func peerCopy(b *testing.B, a, bh *netlab.Host, src, dst string, secure bool, limit time.Duration) peerResult {
	b.Helper()
	settle()
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	mode := "plain"
	if secure {
		mode = "tls"
	}
	addr := netip.AddrPortFrom(bh.Addr, 7401).String()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	env := append(os.Environ(), peerEnv+"=1")
	recv := bh.Command(ctx, self, "recv", mode, addr, dst)
	recv.Env = env
	var recvErr strings.Builder
	recv.Stderr = &recvErr
	out, err := recv.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := recv.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		recv.Process.Kill()
		recv.Wait()
		b.Fatalf("tcp peer receiver did not start: %s", recvErr.String())
	}
	send := a.Command(ctx, self, "send", mode, addr, src)
	send.Env = env
	sendOut, serr := send.CombinedOutput()
	var rep peerReport
	var jerr error
	if lines.Scan() {
		jerr = json.Unmarshal(lines.Bytes(), &rep)
	} else {
		jerr = errors.New("no report")
	}
	rerr := recv.Wait()
	if serr != nil || rerr != nil || jerr != nil {
		b.Fatalf("tcp peers (%s): send: %v %s; receive: %v %s; report: %v", mode, serr, sendOut, rerr, recvErr.String(), jerr)
	}
	res := peerResult{n: rep.Bytes, d: time.Duration(rep.Seconds * float64(time.Second))}
	res.sendUsage, _ = send.ProcessState.SysUsage().(*syscall.Rusage)
	res.recvUsage, _ = recv.ProcessState.SysUsage().(*syscall.Rusage)
	return res
}
