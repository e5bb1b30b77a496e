package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// errorSendTimeout bounds the best-effort sending of an X message.
	errorSendTimeout = 2 * time.Second
	// writeFailWait is how long a side whose write failed waits for the peer's X
	// message, which explains the failure better than "connection lost".
	writeFailWait = time.Second
	// closeWait is how long the receiver waits, after C, for the peer to close.
	closeWait = 5 * time.Second
	// xDeliverWait is how long a side that reports a failure with X waits for the peer to
	// close before it closes itself: closing at once aborts the association, and the peer
	// then sees "connection lost" instead of the reason (PROTOCOL.md §2.3).
	xDeliverWait = 2 * time.Second

	// DefaultIdleTimeout is how long a side waits while it hears nothing at all from the
	// peer, neither a message nor a keep-alive, before it gives up.
	DefaultIdleTimeout = 30 * time.Second
	// maxKeepAliveInterval bounds the time between two K messages of an idle side. A sixth
	// of the idle timeout leaves room for five lost or late keep-alives (timers on loaded
	// machines fire late) before the peer gives up.
	maxKeepAliveInterval = 5 * time.Second
)

// keepAliveInterval is how often an idle side sends K for a peer whose idle timeout is idle.
func keepAliveInterval(idle time.Duration) time.Duration {
	return max(min(idle/6, maxKeepAliveInterval), 10*time.Millisecond)
}

// session is what Send and Receive share: the connection, the read buffer, the
// serialisation of writes and the cancellation watcher.
type session struct {
	ctx  context.Context
	conn Conn
	role string
	app  string

	buf     []byte        // read buffer, MaxMessageSize bytes
	pending *pendingRead  // an outstanding ReadMsg into buf, if any
	wsem    chan struct{} // held during WriteMsg: the watcher's X never interleaves with a write

	watching  bool
	stopWatch func() bool
	watchDone chan struct{}

	// Liveness (PROTOCOL.md §2.5): lastHeard and lastWrite are UnixNano times of the last
	// message read and written; an idle side sends K, and a side that hears nothing for
	// idle gives up with silent set.
	idle      time.Duration
	lastHeard atomic.Int64
	lastWrite atomic.Int64
	silent    atomic.Bool
	liveStop  chan struct{}
	liveDone  sync.WaitGroup
	stopOnce  sync.Once
}

type pendingRead struct {
	done chan struct{}
	n    int
	err  error
}

func newSession(ctx context.Context, conn Conn, role, app string, idle time.Duration) *session {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	s := &session{
		ctx:       ctx,
		conn:      conn,
		role:      role,
		app:       app,
		buf:       make([]byte, MaxMessageSize),
		wsem:      make(chan struct{}, 1),
		watching:  true,
		watchDone: make(chan struct{}),
		idle:      idle,
		liveStop:  make(chan struct{}),
	}
	now := time.Now().UnixNano()
	s.lastHeard.Store(now)
	s.lastWrite.Store(now)
	s.stopWatch = context.AfterFunc(ctx, func() {
		defer close(s.watchDone)
		s.sendX(CodeCancelled, "the peer cancelled the transfer")
		s.conn.Close()
	})
	s.liveDone.Add(2)
	go s.keepAlive()
	go s.watchSilence()
	return s
}

// keepAlive sends K whenever this side has written nothing for a keep-alive interval: while
// its user decides, while it hashes a large partial file, while a slow source (a pipe)
// yields nothing, and on the receiver during the whole transfer, whose data flows the other
// way.
func (s *session) keepAlive() {
	defer s.liveDone.Done()
	every := keepAliveInterval(s.idle)
	t := time.NewTicker(every)
	defer t.Stop()
	k := []byte{typeAlive, '{', '}'}
	for {
		select {
		case <-s.liveStop:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.lastWrite.Load())) < every {
			continue
		}
		select {
		case s.wsem <- struct{}{}: // a write in progress counts as alive
		default:
			continue
		}
		err := s.conn.WriteMsg(k)
		<-s.wsem
		if err != nil {
			return
		}
		s.lastWrite.Store(time.Now().UnixNano())
	}
}

// watchSilence closes the connection once nothing at all was heard from the peer for the
// idle timeout; the pending read or write then fails and fail reports CodeTimeout.
func (s *session) watchSilence() {
	defer s.liveDone.Done()
	t := time.NewTicker(max(s.idle/20, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.liveStop:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.lastHeard.Load())) >= s.idle {
			s.silent.Store(true)
			s.conn.Close()
			return
		}
	}
}

// stopLiveness stops the keep-alives and the silence watcher.
func (s *session) stopLiveness() {
	s.stopOnce.Do(func() { close(s.liveStop) })
}

// end stops the cancellation watcher (waiting for it if it already fired), closes the
// connection and waits for an outstanding read to return.
func (s *session) end() {
	s.stopWatching()
	s.stopLiveness()
	s.conn.Close()
	s.liveDone.Wait()
	if s.pending != nil {
		<-s.pending.done
	}
}

// stopWatching stops the cancellation watcher: once the transfer succeeded, a
// cancellation must not send X any more. If the watcher already fired, it waits for it.
func (s *session) stopWatching() {
	if s.watching {
		s.watching = false
		if !s.stopWatch() {
			<-s.watchDone
		}
	}
}

// waitClose waits until the peer closes the connection (or sends anything), at most
// closeWait or until the context is done, so that a message just written is not lost
// when the caller tears the connection down.
func (s *session) waitClose() {
	if s.pending == nil {
		s.readAsync()
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-s.pending.done:
	case <-t.C:
	case <-s.ctx.Done():
	}
}

// write sends one message.
func (s *session) write(b []byte) error {
	s.wsem <- struct{}{}
	err := s.conn.WriteMsg(b)
	<-s.wsem
	s.lastWrite.Store(time.Now().UnixNano())
	return err
}

// writeOwned writes b through an OwnedWriter conn, which keeps b until it calls release.
func (s *session) writeOwned(w OwnedWriter, b []byte, release func()) error {
	s.wsem <- struct{}{}
	err := w.WriteMsgOwned(b, release)
	<-s.wsem
	s.lastWrite.Store(time.Now().UnixNano())
	return err
}

// sendX sends an X message, best-effort: it gives up (closing the connection) after
// errorSendTimeout.
func (s *session) sendX(code, msg string) {
	closer := time.AfterFunc(errorSendTimeout, func() { s.conn.Close() })
	defer closer.Stop()
	_ = s.write(encodeMessage(typeError, errorMsg{Code: code, Message: msg}))
}

// readAsync starts reading the next message in the background. The next read returns
// it; the returned channel is closed once it has arrived (or the read failed).
func (s *session) readAsync() <-chan struct{} {
	p := &pendingRead{done: make(chan struct{})}
	s.pending = p
	go func() {
		p.n, p.err = s.readMsg()
		close(p.done)
	}()
	return p.done
}

// readMsg reads the next message other than a keep-alive into s.buf, noting that the peer
// was heard.
func (s *session) readMsg() (int, error) {
	for {
		n, err := s.conn.ReadMsg(s.buf)
		if err != nil {
			return n, err
		}
		s.lastHeard.Store(time.Now().UnixNano())
		if n == 0 || s.buf[0] != typeAlive {
			return n, nil
		}
		if _, err := decodeMessage(s.buf[:n]); err != nil {
			return 0, err
		}
	}
}

// pendingDone reports whether the background read has completed.
func (s *session) pendingDone() bool {
	if s.pending == nil {
		return false
	}
	select {
	case <-s.pending.done:
		return true
	default:
		return false
	}
}

// read returns the next message. An X message is returned as a remote *Error, a
// message that does not decode as a protocol *Error, a failure of the connection as
// the raw error. A D message's Data aliases s.buf until the next read.
func (s *session) read() (message, error) {
	var n int
	var err error
	if p := s.pending; p != nil {
		<-p.done
		s.pending = nil
		n, err = p.n, p.err
	} else {
		n, err = s.readMsg()
	}
	if err != nil {
		var big interface{ MessageSize() int }
		switch {
		case errors.As(err, &big):
			return message{}, tooLargeError(big.MessageSize(), err)
		case n > len(s.buf) && errors.Is(err, io.ErrShortBuffer):
			return message{}, tooLargeError(n, err)
		}
		return message{}, err
	}
	m, err := decodeMessage(s.buf[:n])
	if err != nil {
		return message{}, err
	}
	if m.Type == typeError {
		return message{}, remoteError(m.Error)
	}
	return m, nil
}

// expect reads the next message and fails unless it has type t.
func (s *session) expect(t byte) (message, error) {
	m, err := s.read()
	if err != nil {
		return m, err
	}
	if m.Type != t {
		return m, protocolError("the peer sent a %s message where a %s message was expected", messageName(m.Type), messageName(t))
	}
	return m, nil
}

// hello exchanges H messages and checks the peer's.
func (s *session) hello() error {
	grower, _ := s.conn.(PacketGrower)
	canGrow := grower != nil && grower.CanGrowPackets()
	hello := helloMsg{V: protocolVersion, Role: s.role, App: s.app}
	if canGrow {
		hello.Caps = []string{capSCTPMTU8k}
	}
	if err := s.write(encodeMessage(typeHello, hello)); err != nil {
		return s.writeFailed(err, "before the transfer started", ifLost{})
	}
	m, err := s.expect(typeHello)
	if err != nil {
		return s.fail(err, "before the transfer started", ifLost{})
	}
	h := m.Hello
	switch {
	case h.V != protocolVersion:
		return s.fail(protocolError("your peer speaks version %d of the p2pcopy protocol and this program speaks version %d; use the same p2pcopy version on both sides", h.V, protocolVersion), "", ifLost{})
	case h.Role == s.role && s.role == roleSend:
		return s.fail(protocolError("your peer is also sending").fix(FixOppositeRoles), "", ifLost{})
	case h.Role == s.role:
		return s.fail(protocolError("your peer is also receiving").fix(FixOppositeRoles), "", ifLost{})
	case h.Role != roleSend && h.Role != roleReceive:
		return s.fail(protocolError("your peer announced an unknown role %s", quote(h.Role)), "", ifLost{})
	}
	if canGrow && slices.Contains(h.Caps, capSCTPMTU8k) {
		grower.GrowPackets()
	}
	return nil
}

// cancelled returns the error for a cancelled context. The watcher has sent X and
// closed the connection.
func (s *session) cancelled() error {
	msg := "transfer cancelled"
	if errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
		msg = "transfer timed out"
	}
	return &Error{Code: CodeCancelled, Message: msg, err: s.ctx.Err()}
}

// fail turns err into the error Send or Receive returns:
//   - if the context was cancelled, the cancellation error;
//   - an *Error is returned as is, and reported to the peer with X unless it came from
//     the peer;
//   - anything else is a failure of the connection, reported as
//     "connection to peer lost <what> (<cause>)<lost.note>" with lost.fix.
func (s *session) fail(err error, what string, lost ifLost) error {
	if s.ctx.Err() != nil {
		return s.cancelled()
	}
	if s.silent.Load() {
		return s.silentError(what, lost)
	}
	var e *Error
	if errors.As(err, &e) {
		if !e.Remote {
			s.sendX(e.Code, e.peerText())
			s.lingerAfterX()
		}
		return e
	}
	return &Error{
		Code:    CodeIO,
		Message: fmt.Sprintf("connection to peer lost %s (%s)%s", what, cause(err), lost.note),
		Fix:     lost.fix,
		err:     err,
	}
}

// ifLost is what an error says, besides what happened, when the connection is lost or the
// peer goes silent at some point of the transfer: note is what is kept (e.g. "; the partial
// file is kept as a.txt.p2pcopy-part"), fix what the user can do about it. The zero value
// adds nothing.
type ifLost struct {
	note string
	fix  Fix
}

// silentError is the error after the peer was silent for the idle timeout.
func (s *session) silentError(what string, lost ifLost) error {
	if what != "" {
		what = " " + what
	}
	return &Error{Code: CodeTimeout, Fix: lost.fix, Message: fmt.Sprintf(
		"your peer went silent%s: nothing arrived from it for %v, not even a keep-alive (its p2pcopy may be stuck or its computer asleep)%s",
		what, roundDuration(s.idle), lost.note)}
}

// roundDuration shows d to the second, or as it is below a second (tests).
func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d
	}
	return d.Round(time.Second)
}

// lingerAfterX gives the peer up to xDeliverWait to read the X just sent and close its end,
// discarding whatever it still sends meanwhile. Closing at once would tear the connection
// down under the X, and the peer would learn only that the connection was lost.
func (s *session) lingerAfterX() {
	t := time.NewTimer(xDeliverWait)
	defer t.Stop()
	for {
		if s.pending == nil {
			s.readAsync()
		}
		select {
		case <-s.pending.done:
			p := s.pending
			s.pending = nil
			if p.err != nil {
				return
			}
		case <-t.C:
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// tooLargeError reports a message over MaxMessageSize. n is its size; for a message too
// large to be received at all (the Conn's error has Incomplete() == true) it is the part
// received so far.
func tooLargeError(n int, err error) *Error {
	var inc interface{ Incomplete() bool }
	if errors.As(err, &inc) && inc.Incomplete() {
		return protocolError("the peer sent a message of at least %d bytes, more than the %d this side accepts", n, MaxMessageSize)
	}
	return protocolError("the peer sent a message of %d bytes, more than the %d this side accepts", n, MaxMessageSize)
}

// writeFailed is fail for a failed write: the usual reason is that the peer sent X and
// closed the connection, so it first looks for that X.
func (s *session) writeFailed(err error, what string, lost ifLost) error {
	if s.ctx.Err() != nil {
		return s.cancelled()
	}
	if s.pending == nil {
		s.readAsync()
	}
	t := time.NewTimer(writeFailWait)
	defer t.Stop()
	select {
	case <-s.pending.done:
		if _, rerr := s.read(); rerr != nil {
			var e *Error
			if errors.As(rerr, &e) && e.Remote {
				return e
			}
		}
	case <-t.C:
	}
	return s.fail(err, what, lost)
}
