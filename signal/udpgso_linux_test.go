package signal

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/transport/v5"
)

// listenLoopback opens a UDP socket on 127.0.0.1 through bufferedNet, with or without offload.
func listenLoopback(t *testing.T, offload bool) transport.UDPConn {
	t.Helper()
	n, err := newBufferedNet(offload)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// burst is what a test sends: runs of equal sizes (as SCTP writes them), a shorter datagram
// that ends a run, other sizes, and datagrams one byte long. Each starts with its index.
func burst() [][]byte {
	var out [][]byte
	add := func(size int) {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(len(out)*7 + i)
		}
		binary.BigEndian.PutUint32(b, uint32(len(out)))
		out = append(out, b)
	}
	for range 100 {
		add(1200)
	}
	add(300)
	for range 70 { // more than one segmented send can carry
		add(8029)
	}
	add(5)
	add(9000)
	add(4)
	for range 20 {
		add(1432)
	}
	return out
}

// readAll reads len(want) datagrams one per read and checks each against want, in order.
func readAll(t *testing.T, r addrPortConn, want [][]byte, from netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1<<16)
	for i, w := range want {
		if c, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		}
		n, addr, err := r.ReadFromAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, len(want), err)
		}
		if !bytes.Equal(buf[:n], w) {
			got := -1
			if n >= 4 {
				got = int(binary.BigEndian.Uint32(buf))
			}
			t.Fatalf("read %d: %d bytes starting with index %d; want datagram %d (%d bytes)", i, n, got, i, len(w))
		}
		if addr.Port() != from.Port() {
			t.Fatalf("read %d came from %v, want %v", i, addr, from)
		}
	}
}

func offloadOf(t *testing.T, c transport.UDPConn) *offloadConn {
	t.Helper()
	oc, ok := c.(*offloadConn)
	if !ok {
		t.Skipf("this kernel has neither UDP_SEGMENT nor UDP_GRO (socket %T)", c)
	}
	return oc
}

// TestOffloadBurstArrivesWhole: a burst written through the offload socket arrives intact, in
// order and one datagram per read, whichever side has the offloads; with both, the writes
// really went out segmented and came in coalesced.
func TestOffloadBurstArrivesWhole(t *testing.T) {
	for _, tc := range []struct {
		name             string
		sendGSO, recvGRO bool
	}{
		{"gso+gro", true, true},
		{"gso only", true, false},
		{"gro only", false, true},
		{"fallback", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := offloadOf(t, listenLoopback(t, true))
			if tc.sendGSO && !s.gso {
				t.Skip("this kernel lacks UDP_SEGMENT")
			}
			s.gso = tc.sendGSO // off: as after an EIO
			// Without GRO the receiver is a plain socket: the kernel segments for it.
			rc := listenLoopback(t, tc.recvGRO)
			var r addrPortConn
			var ro *offloadConn
			if !tc.recvGRO {
				r = udpAddrPortConn{rc.(*net.UDPConn)}
			} else {
				ro = offloadOf(t, rc)
				if !ro.gro {
					t.Skip("this kernel lacks UDP_GRO")
				}
				r = ro
			}
			to := addrPortOf(rc.LocalAddr())
			want := burst()
			go func() {
				for _, b := range want {
					if _, err := s.WriteToAddrPort(b, to); err != nil {
						t.Errorf("write: %v", err)
						return
					}
				}
			}()
			readAll(t, r, want, addrPortOf(s.LocalAddr()))
			if !tc.sendGSO {
				return
			}
			// The writer may still be sending the last batch; the reads above saw it arrive.
			if got := s.stats.gsoSegments.Load(); got == 0 {
				t.Errorf("no datagram went out in a segmented send (%d single sends)", s.stats.singleSends.Load())
			}
			if tc.recvGRO && ro.stats.groReads.Load() == 0 {
				t.Errorf("no read returned a coalesced datagram (%d segmented sends)", s.stats.gsoSends.Load())
			}
			t.Logf("%d segmented sends carried %d datagrams, %d single", s.stats.gsoSends.Load(),
				s.stats.gsoSegments.Load(), s.stats.singleSends.Load())
		})
	}
}

// TestOffloadKeepsRendezvousInterception: rendezvous packets that travel inside a segmented
// send (same size as the data around them) are still taken out by the ICE socket wrapper and
// handed to the hub, and pion's reads see only the rest, in order.
func TestOffloadKeepsRendezvousInterception(t *testing.T) {
	for _, owned := range []bool{false, true} {
		t.Run(map[bool]string{false: "copying reads", true: "owned reads"}[owned], func(t *testing.T) {
			n, err := newBufferedNet(true)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got [][]byte
			hub := &directHub{handle: func(_ *directConn, pkt []byte, _ netip.AddrPort) {
				mu.Lock()
				got = append(got, bytes.Clone(pkt))
				mu.Unlock()
			}}
			rn := rendezvousNet{Net: n, hub: hub}
			listen := func() (*directConn, transport.UDPConn) {
				c, err := rn.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				if o, ok := c.(*ownedDirectConn); ok {
					return o.directConn, c
				}
				return c.(*directConn), c
			}
			s, _ := listen()
			r, rc := listen()
			so := offloadOf(t, s.UDPConn)
			if !so.gso || !offloadOf(t, r.UDPConn).gro {
				t.Skip("this kernel lacks UDP_SEGMENT or UDP_GRO")
			}

			const size = 200 // a sealed rendezvous packet's size: the data around it matches
			var data, magic [][]byte
			var all [][]byte
			for i := range 60 {
				b := make([]byte, size)
				binary.BigEndian.PutUint32(b[4:], uint32(i))
				if i%10 == 3 {
					copy(b, directMagic[:])
					b[4] = sealKindAck
					magic = append(magic, b)
				} else {
					b[0] = 23 // a DTLS application data record
					data = append(data, b)
				}
				all = append(all, b)
			}
			to := addrPortOf(r.LocalAddr())
			// Queued before the writer starts, so that they leave in segmented sends however
			// slowly this machine runs the writer (under -race it could send each on its own).
			so.mu.Lock()
			so.writing = true
			so.mu.Unlock()
			for _, b := range all {
				if _, err := s.WriteToAddrPort(b, to); err != nil {
					t.Fatal(err)
				}
			}
			go so.writer() // the queue holds them: it sends without waiting for a kick
			var pion addrPortConn = r
			if owned {
				o, ok := rc.(*ownedDirectConn)
				if !ok {
					t.Fatalf("the ICE socket over a GRO socket is a %T, not an ownedDirectConn", rc)
				}
				pion = ownedReads{o}
			}
			readAll(t, pion, data, addrPortOf(s.LocalAddr()))
			deadline := time.Now().Add(5 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= len(magic) || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(magic) {
				t.Fatalf("the hub got %d rendezvous packets, want %d", len(got), len(magic))
			}
			for i := range got {
				if !bytes.Equal(got[i], magic[i]) {
					t.Fatalf("rendezvous packet %d differs", i)
				}
			}
			if so.stats.gsoSegments.Load() == 0 {
				t.Errorf("nothing went out segmented: the test did not cover coalesced reads")
			}
		})
	}
}

// ownedReads reads an ownedDirectConn the way pion-ice does with WithOwnedReceive, for readAll.
type ownedReads struct{ *ownedDirectConn }

func (o ownedReads) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	b, from, err := o.ReadOwnedFromAddrPort()
	return copy(p, b), from, err
}

// TestOffloadOwnedReadsHandOverSegments: with GRO, ReadOwnedFromAddrPort hands out the segments
// of a coalesced read in place: intact, in order, each directly after the one before in memory
// (a copy would be an allocation of its own), and still intact after later reads.
func TestOffloadOwnedReadsHandOverSegments(t *testing.T) {
	s := offloadOf(t, listenLoopback(t, true))
	r := offloadOf(t, listenLoopback(t, true))
	if !s.gso || !r.gro || !r.readsOwned() {
		t.Skip("this kernel lacks UDP_SEGMENT or UDP_GRO")
	}
	const n, size = 300, 1200
	want := make([][]byte, n)
	for i := range want {
		want[i] = bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2)
	}
	to := addrPortOf(r.LocalAddr())
	go func() {
		for _, b := range want {
			if _, err := s.WriteToAddrPort(b, to); err != nil {
				t.Errorf("write: %v", err)
				return
			}
		}
	}()
	got := make([][]byte, n)
	adjacent := 0
	for i := range got {
		_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
		p, _, err := r.ReadOwnedFromAddrPort()
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if len(p) != cap(p) {
			t.Fatalf("datagram %d: capacity %d beyond its %d bytes reaches the next", i, cap(p), len(p))
		}
		got[i] = p
		if prev := got[max(i-1, 0)]; i > 0 &&
			unsafe.Pointer(unsafe.SliceData(p)) == unsafe.Add(unsafe.Pointer(unsafe.SliceData(prev)), len(prev)) {
			adjacent++
		}
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("datagram %d differs after all were read", i)
		}
	}
	t.Logf("%d of %d datagrams directly after the one before; %d coalesced reads", adjacent, n-1, r.stats.groReads.Load())
	if r.stats.groReads.Load() == 0 {
		t.Fatal("no read was coalesced: the test did not cover GRO")
	}
	if adjacent < (n-1)/2 {
		t.Errorf("only %d of %d datagrams directly after the one before: segments were copied", adjacent, n-1)
	}
}
