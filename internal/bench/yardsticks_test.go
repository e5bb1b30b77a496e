//go:build linux

package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
	"golang.org/x/sys/unix"
)

// The yardsticks: one TCP connection, plain or with TLS 1.3 and SHA-256, copying the same file.

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
	settle()
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
