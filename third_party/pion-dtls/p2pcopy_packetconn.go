// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

// p2pcopy patch (see P2PCOPY-PATCH.md): upstream wraps nextConn in
// github.com/pion/transport/v5/netctx, whose ReadFromContext and WriteToContext start a
// goroutine and allocate a channel, a WaitGroup and an atomic.Value on every call, i.e. for
// every datagram; Conn.Write started one more for its close-or-deadline context. This
// packetConn keeps netctx's behaviour (a context that ends during a blocked call sets the
// underlying conn's deadline to the past, which unblocks the call, and the deadline is reset
// to zero afterwards; the context's error is returned if nothing was transferred) but watches
// the contexts with context.AfterFunc, which starts nothing unless a context actually ends
// (the contexts used here are cancelCtx-based, so AfterFunc only registers a callback). The
// registration is kept from call to call while the context stays the same (Conn.Write uses
// the conn's close context and the write deadline's context, which change only when they
// end; the read loop uses one context): a call then costs two uncontended mutex operations.

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v5/netctx"
)

// errClosing is what netctx returns for calls on a closed packetConn.
var errClosing = netctx.ErrClosing //nolint:gochecknoglobals

// veryOld is a deadline in the past: setting it unblocks a pending read or write.
var veryOld = time.Unix(0, 1) //nolint:gochecknoglobals

type packetConn struct {
	nextConn  net.PacketConn
	owned     ownedReader // nextConn, if it hands over its buffers (p2pcopy_read_owned.go)
	closed    chan struct{}
	closeOnce sync.Once
	readMu    sync.Mutex
	writeMu   sync.Mutex
	read      ctxWatch
	write     ctxWatch
}

var _ netctx.PacketConn = (*packetConn)(nil)

func newPacketConn(pconn net.PacketConn) *packetConn {
	p := &packetConn{nextConn: pconn, closed: make(chan struct{})}
	p.owned, _ = pconn.(ownedReader)
	p.read.setDeadline = pconn.SetReadDeadline
	p.write.setDeadline = pconn.SetWriteDeadline
	p.read.tripFn = p.read.trip
	p.write.tripFn = p.write.trip

	return p
}

// ctxWatch unblocks the call in progress (one at a time: readMu or writeMu is held) when one
// of its contexts ends.
type ctxWatch struct {
	setDeadline func(time.Time) error
	tripFn      func() // trip as a func value, allocated once

	regs [2]afterFunc // AfterFunc registrations, kept between calls (under readMu or writeMu)

	mu      sync.Mutex
	ctxs    [2]context.Context // contexts of the call in progress; nil when idle
	expired bool               // trip set the deadline to the past
	err     error              // from setDeadline in trip
}

type afterFunc struct {
	done <-chan struct{} // Done of the context watched
	stop func() bool
}

// trip runs in a goroutine of its own (context.AfterFunc) once a watched context ends. A
// callback of an earlier call may run late: it only acts if a context of the call now in
// progress has ended, which that call must obey anyway.
func (w *ctxWatch) trip() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired || ctxsErr(w.ctxs[0], w.ctxs[1]) == nil {
		return
	}
	if err := w.setDeadline(veryOld); err != nil {
		w.err = err

		return
	}
	w.expired = true
}

// watch makes sure that trip runs when ctx ends.
func (w *ctxWatch) watch(slot int, ctx context.Context) {
	if ctx == nil {
		return
	}
	done := ctx.Done()
	if done == nil { // never ends
		return
	}
	reg := &w.regs[slot]
	if reg.done == done { // registered by an earlier call (if it fired, ctx has ended)
		return
	}
	if reg.stop != nil {
		reg.stop()
	}
	reg.done = done
	reg.stop = context.AfterFunc(ctx, w.tripFn)
}

// start watches the call's contexts (ctx2 may be nil). If one of them has already ended, it
// returns its error and the call must not be made (end must still be called).
func (w *ctxWatch) start(ctx1, ctx2 context.Context) error {
	w.watch(0, ctx1)
	w.watch(1, ctx2)
	w.mu.Lock()
	w.ctxs = [2]context.Context{ctx1, ctx2}
	w.mu.Unlock()

	// A context that ended before the line above may have run trip already, for nothing.
	return ctxsErr(ctx1, ctx2)
}

// end ends the watch of a call; it returns an error from setting the deadline, if any.
func (w *ctxWatch) end() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctxs = [2]context.Context{}
	err := w.err
	w.err = nil
	if w.expired {
		w.expired = false
		if e := w.setDeadline(time.Time{}); e != nil && err == nil {
			err = e
		}
	}

	return err
}

// ctxsErr is the error of the first ended context: ctx1.Err(), or context.Cause(ctx2) (the
// cause of a deadline context is context.DeadlineExceeded, as upstream's Conn.Write reported).
func ctxsErr(ctx1, ctx2 context.Context) error {
	if ctx1 != nil {
		if err := ctx1.Err(); err != nil {
			return err
		}
	}
	if ctx2 != nil && ctx2.Err() != nil {
		if err := context.Cause(ctx2); err != nil {
			return err
		}

		return context.DeadlineExceeded
	}

	return nil
}

// ReadFromContext reads a packet like net.PacketConn.ReadFrom; it gives up when ctx ends.
func (p *packetConn) ReadFromContext(ctx context.Context, b []byte) (int, net.Addr, error) {
	p.readMu.Lock()
	defer p.readMu.Unlock()

	select {
	case <-p.closed:
		return 0, nil, net.ErrClosed
	default:
	}

	var (
		n     int
		raddr net.Addr
		err   error
	)
	if err = p.read.start(ctx, nil); err == nil {
		n, raddr, err = p.nextConn.ReadFrom(b)
	}
	errSetDeadline := p.read.end()
	if e := ctx.Err(); e != nil && n == 0 {
		err = e
	}
	if err == nil && errSetDeadline != nil {
		err = errSetDeadline
	}

	return n, raddr, err
}

// WriteToContext writes a packet like net.PacketConn.WriteTo; it gives up when ctx ends.
func (p *packetConn) WriteToContext(ctx context.Context, b []byte, raddr net.Addr) (int, error) {
	return p.writeTo(b, raddr, ctx, nil)
}

// writeTo is WriteToContext giving up when either context ends (ctx2 may be nil).
func (p *packetConn) writeTo(b []byte, raddr net.Addr, ctx1, ctx2 context.Context) (int, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()

	select {
	case <-p.closed:
		return 0, errClosing
	default:
	}

	var n int
	err := p.write.start(ctx1, ctx2)
	if err == nil {
		n, err = p.nextConn.WriteTo(b, raddr)
	}
	errSetDeadline := p.write.end()
	if e := ctxsErr(ctx1, ctx2); e != nil && n == 0 {
		err = e
	}
	if err == nil && errSetDeadline != nil {
		err = errSetDeadline
	}

	return n, err
}

// Close closes the connection; blocked calls are unblocked and return errors.
func (p *packetConn) Close() error {
	err := p.nextConn.Close()
	p.closeOnce.Do(func() {
		p.writeMu.Lock()
		p.readMu.Lock()
		close(p.closed)
		p.readMu.Unlock()
		p.writeMu.Unlock()
	})

	return err
}

// LocalAddr returns the local network address, if known.
func (p *packetConn) LocalAddr() net.Addr {
	return p.nextConn.LocalAddr()
}

// Conn returns the underlying net.PacketConn.
func (p *packetConn) Conn() net.PacketConn {
	return p.nextConn
}
