// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

// p2pcopy patch: the read loop takes packets without copying them when the conn can hand them
// over.
//
// The reassembly queue keeps slices of each inbound packet until the user reads the message, so
// readLoop needs a slice of its own per packet: upstream reads into one buffer and copies each
// packet into a new slice. pion/dtls (patched for p2pcopy, third_party/pion-dtls) hands over a
// slice that nothing else refers to through ReadOwned: a record of its own, or, over p2pcopy's
// owned receive path (pion-dtls §5), the record inside the buffer the socket was read into — so
// a chunk held here keeps that whole buffer (a 64 or 256 KiB slab) alive until it is read. With
// such a conn readLoop uses it: a copy and an allocation of a whole packet less per packet. Any other conn is read as before. A packet larger than
// receiveMTU, which upstream's Read into a receiveMTU buffer would have failed with the conn's
// error, is handled like any other packet (the conn's own read buffer bounds it).

// ownedReader is a conn whose reads return slices that belong to the caller
// (pion/dtls's Conn.ReadOwned in p2pcopy's copy).
type ownedReader interface {
	ReadOwned() ([]byte, error)
}

// inboundReader returns the function readLoop reads packets with: each call returns one packet
// in a slice that nothing else refers to.
func (a *Association) inboundReader() func() ([]byte, error) {
	if r, ok := a.netConn.(ownedReader); ok {
		return r.ReadOwned
	}
	buffer := make([]byte, receiveMTU)

	return func() ([]byte, error) {
		n, err := a.netConn.Read(buffer)
		if err != nil {
			return nil, err
		}
		// Make a buffer sized to what we read, then copy the data we read from the underlying
		// transport. We do this because the user data is passed to the reassembly queue
		// without copying.
		inbound := make([]byte, n)
		copy(inbound, buffer[:n])

		return inbound, nil
	}
}
