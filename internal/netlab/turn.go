//go:build linux

package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// Coturn is a coturn TURN server running on the lab's internet host.
type Coturn struct {
	URL string // turn:USER:PASS@HOST:PORT, the form p2pcopy's --turn takes

	log *lockedBuffer
}

// Log is what coturn has logged so far.
func (c *Coturn) Log() string { return c.log.String() }

// Coturn's address and credentials in the lab.
const (
	coturnPort  = 3479 // 3478 is the lab's STUN responder
	coturnUser  = "lab"
	coturnPass  = "secret"
	coturnRealm = "p2pcopy.test"
)

// ErrNoCoturn is returned by StartCoturn when turnserver is not installed.
var ErrNoCoturn = errors.New("netlab: coturn's turnserver not found: apt-get install coturn")

// StartCoturn runs coturn's turnserver on the internet host (203.0.113.1, port 3479, relay
// ports 50000-50999, long-term credentials lab:secret) and waits until it answers STUN. It
// stops before the lab is torn down. It returns ErrNoCoturn when turnserver is missing.
func (l *Lab) StartCoturn(t testing.TB) (*Coturn, error) {
	t.Helper()
	bin := toolPath("turnserver")
	if bin == "" {
		return nil, ErrNoCoturn
	}
	inet := l.Internet()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := inet.Command(ctx, bin,
		"-n", "--no-cli", "--no-tls", "--no-dtls",
		"--listening-ip", inet.Addr.String(), "--listening-port", fmt.Sprint(coturnPort),
		"--relay-ip", inet.Addr.String(), "--min-port", "50000", "--max-port", "50999",
		"--lt-cred-mech", "--user", coturnUser+":"+coturnPass, "--realm", coturnRealm,
		"--userdb", filepath.Join(dir, "turndb"), "--pidfile", filepath.Join(dir, "turnserver.pid"),
		"--log-file", "stdout", "--simple-log", "--verbose",
	)
	c := &Coturn{
		URL: fmt.Sprintf("turn:%s:%s@%s:%d", coturnUser, coturnPass, inet.Addr, coturnPort),
		log: &lockedBuffer{},
	}
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("netlab: starting coturn: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	server := &net.UDPAddr{IP: net.IP(inet.Addr.AsSlice()), Port: coturnPort}
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("netlab: coturn exited at start:\n%s", c.Log())
		default:
		}
		if stunPing(inet, server) == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("netlab: coturn does not answer STUN on %v:\n%s", server, c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stunPing sends one binding request to server from inside h's namespace and waits briefly for
// the success response.
func stunPing(h *Host, server *net.UDPAddr) error {
	var conn net.PacketConn
	if err := h.Run(nil, func() (err error) {
		conn, err = net.ListenPacket("udp4", ":0")
		return err
	}); err != nil {
		return err
	}
	defer conn.Close()
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return err
	}
	if _, err := conn.WriteTo(req.Raw, server); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 1500)
	n, _, err := conn.ReadFrom(buf)
	if err != nil {
		return err
	}
	resp := &stun.Message{Raw: buf[:n]}
	if err := resp.Decode(); err != nil {
		return err
	}
	if resp.Type != stun.BindingSuccess {
		return fmt.Errorf("netlab: coturn answered %v", resp.Type)
	}
	return nil
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
