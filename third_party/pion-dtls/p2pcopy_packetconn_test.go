// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// stuckPacketConn blocks reads and writes until released or until a deadline in the past is
// set, like a socket whose buffers are full or empty.
type stuckPacketConn struct {
	mu          sync.Mutex
	readDL      time.Time
	writeDL     time.Time
	released    bool
	writeDLSets int
}

func (s *stuckPacketConn) wait(dl *time.Time) error {
	for {
		s.mu.Lock()
		released, expired := s.released, !dl.IsZero() && time.Now().After(*dl)
		s.mu.Unlock()
		if released {
			return nil
		}
		if expired {
			return os.ErrDeadlineExceeded
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *stuckPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if err := s.wait(&s.readDL); err != nil {
		return 0, nil, err
	}

	return len(b), &net.UDPAddr{}, nil
}

func (s *stuckPacketConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	if err := s.wait(&s.writeDL); err != nil {
		return 0, err
	}

	return len(b), nil
}

func (s *stuckPacketConn) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readDL = t

	return nil
}

func (s *stuckPacketConn) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeDL = t
	s.writeDLSets++

	return nil
}

func (s *stuckPacketConn) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)

	return s.SetWriteDeadline(t)
}
func (s *stuckPacketConn) Close() error        { return nil }
func (s *stuckPacketConn) LocalAddr() net.Addr { return &net.UDPAddr{} }

func TestP2pcopyPacketConnContextUnblocksCall(t *testing.T) {
	for _, second := range []bool{false, true} {
		stuck := &stuckPacketConn{}
		pconn := newPacketConn(stuck)
		closedCtx, closeConn := context.WithCancel(context.Background())
		deadlineCtx, expire := context.WithCancelCause(context.Background())
		defer expire(nil)
		cancel := func() { closeConn() }
		want := context.Canceled
		if second {
			cancel = func() { expire(context.DeadlineExceeded) }
			want = context.DeadlineExceeded
		}

		done := make(chan error, 1)
		go func() {
			_, err := pconn.writeTo([]byte("x"), &net.UDPAddr{}, closedCtx, deadlineCtx)
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("write returned before its context ended: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, want)
		case <-time.After(5 * time.Second):
			t.Fatal("write still blocked after its context ended")
		}
		stuck.mu.Lock()
		assert.True(t, stuck.writeDL.IsZero(), "write deadline not reset")
		stuck.mu.Unlock()

		// The ended context fails the next call at once; a live one leaves it alone.
		_, err := pconn.writeTo([]byte("x"), &net.UDPAddr{}, closedCtx, deadlineCtx)
		assert.ErrorIs(t, err, want)
		stuck.mu.Lock()
		stuck.released = true
		stuck.mu.Unlock()
		n, err := pconn.WriteToContext(context.Background(), []byte("xy"), &net.UDPAddr{})
		assert.NoError(t, err)
		assert.Equal(t, 2, n)
	}

	// Reads.
	stuck := &stuckPacketConn{}
	pconn := newPacketConn(stuck)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := pconn.ReadFromContext(ctx, make([]byte, 10))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("read still blocked after its context ended")
	}
}

// A context that ended after an earlier call finished must not disturb the calls that follow
// with other contexts.
func TestP2pcopyPacketConnLateContextEnd(t *testing.T) {
	stuck := &stuckPacketConn{released: true}
	pconn := newPacketConn(stuck)
	oldCtx, cancelOld := context.WithCancel(context.Background())
	_, err := pconn.writeTo([]byte("x"), &net.UDPAddr{}, oldCtx, nil)
	assert.NoError(t, err)
	cancelOld()
	time.Sleep(20 * time.Millisecond)
	for i := 0; i < 10; i++ {
		_, err = pconn.writeTo([]byte("x"), &net.UDPAddr{}, context.Background(), nil)
		assert.NoError(t, err)
	}
	stuck.mu.Lock()
	assert.Zero(t, stuck.writeDLSets, "deadline set without a reason")
	stuck.mu.Unlock()
}

// Conn.Write and the read loop start no goroutine per datagram (upstream started three).
func TestP2pcopyNoGoroutinePerDatagram(t *testing.T) {
	ca, cb, err := pipeMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = ca.Close()
		_ = cb.Close()
	}()

	const count = 1000
	received := make(chan error, 1)
	go func() {
		buf := make([]byte, 100)
		for i := 0; i < count; i++ {
			if _, err := cb.Read(buf); err != nil {
				received <- err

				return
			}
		}
		received <- nil
	}()

	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	for i := 0; i < count; i++ {
		if _, err := ca.Write([]byte("datagram")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-received:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("datagrams not received")
	}
	metrics.Read(sample)
	created := sample[0].Value.Uint64() - before
	assert.Less(t, created, uint64(count/10), "goroutines created for %d datagrams", count)

	// A write deadline in the past still fails a write, and Close still closes.
	assert.NoError(t, ca.SetWriteDeadline(time.Unix(1, 0)))
	_, err = ca.Write([]byte("late"))
	var netErr net.Error
	assert.True(t, errors.As(err, &netErr) && netErr.Timeout(), "write past deadline: %v", err)
	assert.NoError(t, ca.SetWriteDeadline(time.Time{}))
	_, err = ca.Write([]byte("again"))
	assert.NoError(t, err)
	assert.NoError(t, ca.Close())
	_, err = ca.Write([]byte("closed"))
	assert.ErrorIs(t, err, ErrConnClosed)
}
