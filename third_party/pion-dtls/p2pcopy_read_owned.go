// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

// p2pcopy patch (P2PCOPY-PATCH.md §5): datagrams are taken from a conn that hands over its
// buffers, and application data stays where it was decrypted.
//
// Upstream reads every datagram into a pooled buffer — a copy out of the conn's own queue, for
// pion/webrtc the mux endpoint's — decrypts each record in place there, and
// ApplicationData.Unmarshal copies the plaintext out of it before the pooled buffer is reused.
// When the conn has ReadOwned() ([]byte, error) (p2pcopy's pion/webrtc mux endpoint, which
// passes on the buffer the ICE agent read the datagram into from the socket), the conn's slice is
// read instead, and since nothing else refers to it, an application-data record's plaintext is
// handed to ReadOwned/Read as the slice of it where it was decrypted. Any other conn is read as
// before.

import (
	"context"
	"net"

	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// ownedReader is a conn whose ReadOwned returns the next datagram in a slice the caller may
// keep. It is a connected conn: its datagrams come from the conn's remote address.
type ownedReader interface {
	ReadOwned() ([]byte, error)
}

// readDatagram reads the next datagram: the conn's own slice if it is an ownedReader (owned is
// true: the datagram belongs to c), else into a buffer of poolReadBuffer, returned in bufptr
// for the caller to put back when done with the datagram.
func (c *Conn) readDatagram(ctx context.Context) (
	b []byte, n int, rAddr net.Addr, owned bool, bufptr *[]byte, err error,
) {
	if c.nextConn.owned != nil {
		b, err = c.nextConn.readOwnedContext(ctx)

		return b, len(b), c.RemoteAddr(), true, nil, err
	}
	bufptr, ok := poolReadBuffer.Get().(*[]byte)
	if !ok {
		return nil, 0, nil, false, nil, errFailedToAccessPoolReadBuffer
	}
	b = *bufptr
	n, rAddr, err = c.nextConn.ReadFromContext(ctx, b)

	return b, n, rAddr, false, bufptr, err
}

// readOwnedContext reads a datagram with the conn's ReadOwned; it gives up when ctx ends, as
// ReadFromContext does.
func (p *packetConn) readOwnedContext(ctx context.Context) ([]byte, error) {
	p.readMu.Lock()
	defer p.readMu.Unlock()

	select {
	case <-p.closed:
		return nil, net.ErrClosed
	default:
	}

	var (
		b   []byte
		err error
	)
	if err = p.read.start(ctx, nil); err == nil {
		b, err = p.owned.ReadOwned()
	}
	errSetDeadline := p.read.end()
	if e := ctx.Err(); e != nil && len(b) == 0 {
		err = e
	}
	if err == nil && errSetDeadline != nil {
		err = errSetDeadline
	}

	return b, err
}

// unmarshalRecord is r.Unmarshal(buf), but an application-data record of an owned datagram
// keeps its data where it is instead of copying it out (capacity cut at the record's end).
func unmarshalRecord(r *recordlayer.RecordLayer, buf []byte, owned bool) error {
	if !owned || len(buf) == 0 || protocol.ContentType(buf[0]) != protocol.ContentTypeApplicationData {
		return r.Unmarshal(buf)
	}
	if err := r.Header.Unmarshal(buf); err != nil {
		return err
	}
	data := buf[r.Header.Size()+len(r.Header.ConnectionID):]
	r.Content = &protocol.ApplicationData{Data: data[:len(data):len(data)]}

	return nil
}
