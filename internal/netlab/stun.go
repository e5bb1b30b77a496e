//go:build linux

package netlab

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/pion/stun/v4"
)

// StartSTUN serves STUN binding requests on both of the internet host's addresses (port 3478)
// and returns their URLs. Two addresses let a client compare its mapping across destinations.
// The servers stop before the lab is torn down.
func (l *Lab) StartSTUN(t testing.TB) []string {
	t.Helper()
	inet := l.Internet()
	var urls []string
	for _, a := range []netip.Addr{inet.Addr, inet.Alt} {
		ap := netip.AddrPortFrom(a, 3478)
		var conn net.PacketConn
		err := inet.Run(t, func() (err error) {
			conn, err = net.ListenPacket("udp4", ap.String()) // bound inside the internet namespace
			return err
		})
		if err != nil {
			t.Fatalf("STUN server on %s: %v", ap, err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			serveSTUN(conn)
		}()
		t.Cleanup(func() { _ = conn.Close(); <-done })
		urls = append(urls, "stun:"+ap.String())
	}
	return urls
}

// serveSTUN answers binding requests with the source address it saw, until conn is closed.
func serveSTUN(conn net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		ua, ok := from.(*net.UDPAddr)
		if !ok {
			continue
		}
		resp, err := stun.Build(req, stun.BindingSuccess,
			&stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
		if err != nil {
			continue
		}
		_, _ = conn.WriteTo(resp.Raw, from)
	}
}
