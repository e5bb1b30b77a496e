// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package mux

// p2pcopy patch (P2PCOPY-PATCH.md §3): datagrams pass the mux without being copied when the
// conn hands over the buffers it read them into (Config.OwnedReads). Upstream reads each one
// into the mux's buffer, copies it into the endpoint's packetio.Buffer, and Endpoint.Read
// copies it out again; now the conn's slice itself is queued (ownedQueue, same limit and drops)
// and Endpoint.ReadOwned hands it to the reader (pion/dtls's owned read path). Endpoint.Read
// still copies, so every reader (SRTP, SRTCP) keeps working.

import (
	"sync"
)

// ownedReader is a conn whose ReadOwned returns a datagram in a slice the caller may keep.
type ownedReader interface {
	ReadOwned() ([]byte, error)
}

// NewOwnedEndpoint creates an Endpoint that, with Config.OwnedReads, queues the conn's own slices
// for ReadOwned; NewEndpoint's endpoints copy into their packetio.Buffer as upstream does. Only
// an endpoint that is read all along may hold the conn's slices: each one keeps the whole buffer
// it was read into (pion-ice reads 64 KiB slabs, and GRO reads 256 KiB ones), so a datagram
// waiting in an endpoint nobody reads — SRTP's and SRTCP's in a data-channel-only session,
// which a peer can feed with a first byte of 128-191 — would keep every slab it lands in, and
// the endpoint's byte limit would no longer bound the memory.
func (m *Mux) NewOwnedEndpoint(matchFunc MatchFunc) *Endpoint {
	return m.newEndpoint(matchFunc, true)
}

// read reads the next datagram: into *buf, or, with an owned conn, by replacing *buf with the
// conn's slice (which the mux then gives away).
func (m *Mux) read(buf *[]byte) (int, error) {
	if m.owned == nil {
		return m.nextConn.Read(*buf)
	}
	p, err := m.owned.ReadOwned()
	*buf = p

	return len(p), err
}

// write queues a dispatched datagram: buf itself on an owned endpoint (the mux read it with
// ReadOwned, or copied it for its pending list), else a copy in the endpoint's packetio.Buffer.
func (e *Endpoint) write(buf []byte) (int, error) {
	if e.owned != nil {
		return e.owned.WriteOwned(buf, nil)
	}

	return e.buffer.Write(buf, nil)
}

// readScratch holds Endpoint.ReadOwned's buffers when the mux does not read owned buffers.
var readScratch = sync.Pool{} //nolint:gochecknoglobals

// ReadOwned reads the next datagram like Read and returns it in a slice that belongs to the
// caller: with Config.OwnedReads the one the conn read it into (no copy), otherwise a new
// slice holding a copy.
func (e *Endpoint) ReadOwned() ([]byte, error) {
	if e.owned != nil {
		p, _, err := e.owned.ReadOwned(nil)

		return p, err
	}
	scratch, _ := readScratch.Get().(*[]byte)
	if scratch == nil || len(*scratch) < e.mux.bufferSize {
		b := make([]byte, e.mux.bufferSize)
		scratch = &b
	}
	defer readScratch.Put(scratch)
	n, err := e.Read(*scratch)
	if err != nil {
		return nil, err
	}

	return append([]byte(nil), (*scratch)[:n]...), nil
}
