// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

// p2pcopy patch: a packet of DATA (or I-DATA) chunks is marshalled into one buffer of the
// right size. Upstream's chunkPayloadData.marshal copies the user data behind the DATA header,
// chunkHeader.marshal copies that behind the chunk header, and packet.marshal appends it to a
// 12-byte slice (growing it, and again for the padding): four allocations and copies of the
// payload per packet. marshalTo writes the same bytes straight into the packet's buffer.

import "encoding/binary"

// chunkMarshalerTo is a chunk that can marshal itself into a buffer.
type chunkMarshalerTo interface {
	// marshalSize is len(marshal()).
	marshalSize() int
	// marshalTo writes what marshal returns into b[:marshalSize()].
	marshalTo(b []byte)
}

func (p *chunkPayloadData) marshalSize() int {
	if p.isIData() {
		return chunkHeaderSize + iDataHeaderSize + len(p.userData)
	}

	return chunkHeaderSize + payloadDataHeaderSize + len(p.userData)
}

// marshalTo writes what marshal returns (and sets the chunk header's type and flags as marshal
// does) without allocating.
func (p *chunkPayloadData) marshalTo(b []byte) {
	flags := uint8(0)
	if p.endingFragment {
		flags = 1
	}
	if p.beginningFragment {
		flags |= 1 << 1
	}
	if p.unordered {
		flags |= 1 << 2
	}
	if p.immediateSack {
		flags |= 1 << 3
	}
	p.chunkHeader.flags = flags

	var val []byte
	if p.isIData() {
		p.chunkHeader.typ = ctIData
		val = b[chunkHeaderSize : chunkHeaderSize+iDataHeaderSize+len(p.userData)]
		binary.BigEndian.PutUint32(val[0:], p.tsn)
		binary.BigEndian.PutUint16(val[4:], p.streamIdentifier)
		binary.BigEndian.PutUint16(val[6:], 0)
		binary.BigEndian.PutUint32(val[8:], p.messageIdentifier)
		if p.beginningFragment {
			binary.BigEndian.PutUint32(val[12:], uint32(p.payloadType))
		} else {
			binary.BigEndian.PutUint32(val[12:], p.fragmentSequenceNumber)
		}
		copy(val[iDataHeaderSize:], p.userData)
	} else {
		p.chunkHeader.typ = ctPayloadData
		val = b[chunkHeaderSize : chunkHeaderSize+payloadDataHeaderSize+len(p.userData)]
		binary.BigEndian.PutUint32(val[0:], p.tsn)
		binary.BigEndian.PutUint16(val[4:], p.streamIdentifier)
		binary.BigEndian.PutUint16(val[6:], p.streamSequenceNumber)
		binary.BigEndian.PutUint32(val[8:], uint32(p.payloadType))
		copy(val[payloadDataHeaderSize:], p.userData)
	}

	// As chunkHeader.marshal.
	b[0] = uint8(p.chunkHeader.typ)
	b[1] = flags
	binary.BigEndian.PutUint16(b[2:], uint16(len(val)+chunkHeaderSize)) //nolint:gosec // G115
}

// marshalInto returns what marshal returns when every chunk is a chunkMarshalerTo, in one
// allocation; ok is false (and nothing is done) otherwise.
func (p *packet) marshalInto(doChecksum bool) (raw []byte, ok bool) {
	return p.marshalIntoArena(nil, doChecksum)
}

// sendArenaMin and sendArenaMax bound the buffer a new arena allocates.
const (
	sendArenaMin = 64 << 10
	sendArenaMax = 4 << 20
)

// marshalIntoArena is marshalInto taking the packet's bytes from the end of *arena (nil: a
// new allocation), which it replaces by a larger one when full.
func (p *packet) marshalIntoArena(arena *[]byte, doChecksum bool) (raw []byte, ok bool) {
	size := packetHeaderSize
	for _, c := range p.chunks {
		m, isTo := c.(chunkMarshalerTo)
		if !isTo {
			return nil, false
		}
		n := m.marshalSize()
		size += n + getPadding(n) // the header is 12 bytes: padding each chunk pads the packet
	}

	if arena == nil {
		raw = make([]byte, size)
	} else {
		if cap(*arena)-len(*arena) < size {
			*arena = make([]byte, 0, max(size, min(2*cap(*arena), sendArenaMax), sendArenaMin))
		}
		start := len(*arena)
		*arena = (*arena)[:start+size]
		raw = (*arena)[start : start+size : start+size]
		clear(raw)
	}
	binary.BigEndian.PutUint16(raw[0:], p.sourcePort)
	binary.BigEndian.PutUint16(raw[2:], p.destinationPort)
	binary.BigEndian.PutUint32(raw[4:], p.verificationTag)
	// raw[8:12], the checksum, is zero while it is computed (as the padding).
	offset := packetHeaderSize
	for _, c := range p.chunks {
		m, _ := c.(chunkMarshalerTo)
		n := m.marshalSize()
		m.marshalTo(raw[offset : offset+n])
		offset += n + getPadding(n) // padding: zeroes
	}

	if doChecksum {
		binary.LittleEndian.PutUint32(raw[8:], generatePacketChecksum(raw))
	}

	return raw, true
}
