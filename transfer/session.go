package transfer

import (
	"context"
	"errors"
	"fmt"
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
)

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
}

type pendingRead struct {
	done chan struct{}
	n    int
	err  error
}

func newSession(ctx context.Context, conn Conn, role, app string) *session {
	s := &session{
		ctx:       ctx,
		conn:      conn,
		role:      role,
		app:       app,
		buf:       make([]byte, MaxMessageSize),
		wsem:      make(chan struct{}, 1),
		watching:  true,
		watchDone: make(chan struct{}),
	}
	s.stopWatch = context.AfterFunc(ctx, func() {
		defer close(s.watchDone)
		s.sendX(CodeCancelled, "the peer cancelled the transfer")
		s.conn.Close()
	})
	return s
}

// end stops the cancellation watcher (waiting for it if it already fired), closes the
// connection and waits for an outstanding read to return.
func (s *session) end() {
	s.stopWatching()
	s.conn.Close()
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
		p.n, p.err = s.conn.ReadMsg(s.buf)
		close(p.done)
	}()
	return p.done
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
		n, err = s.conn.ReadMsg(s.buf)
	}
	if err != nil {
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
	if err := s.write(encodeMessage(typeHello, helloMsg{V: protocolVersion, Role: s.role, App: s.app})); err != nil {
		return s.writeFailed(err, "before the transfer started", "")
	}
	m, err := s.expect(typeHello)
	if err != nil {
		return s.fail(err, "before the transfer started", "")
	}
	h := m.Hello
	switch {
	case h.V != protocolVersion:
		return s.fail(protocolError("your peer speaks version %d of the p2pcopy protocol and this program speaks version %d; use the same p2pcopy version on both sides", h.V, protocolVersion), "", "")
	case h.Role == s.role && s.role == roleSend:
		return s.fail(protocolError(`your peer is also sending; one side must run "p2pcopy send" and the other "p2pcopy receive"`), "", "")
	case h.Role == s.role:
		return s.fail(protocolError(`your peer is also receiving; one side must run "p2pcopy send" and the other "p2pcopy receive"`), "", "")
	case h.Role != roleSend && h.Role != roleReceive:
		return s.fail(protocolError("your peer announced an unknown role %s", quote(h.Role)), "", "")
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
//     "connection to peer lost <what> (<cause>)<hint>".
func (s *session) fail(err error, what, hint string) error {
	if s.ctx.Err() != nil {
		return s.cancelled()
	}
	var e *Error
	if errors.As(err, &e) {
		if !e.Remote {
			s.sendX(e.Code, e.Message)
		}
		return e
	}
	return &Error{
		Code:    CodeIO,
		Message: fmt.Sprintf("connection to peer lost %s (%s)%s", what, cause(err), hint),
		err:     err,
	}
}

// writeFailed is fail for a failed write: the usual reason is that the peer sent X and
// closed the connection, so it first looks for that X.
func (s *session) writeFailed(err error, what, hint string) error {
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
	return s.fail(err, what, hint)
}
