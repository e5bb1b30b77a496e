// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// upstreamOnly hides marshalTo, so that packet.marshal takes upstream's path for the chunk.
type upstreamOnly struct{ chunk }

func upstreamMarshal(t *testing.T, pkt *packet, doChecksum bool) []byte {
	t.Helper()
	hidden := &packet{sourcePort: pkt.sourcePort, destinationPort: pkt.destinationPort, verificationTag: pkt.verificationTag}
	for _, c := range pkt.chunks {
		hidden.chunks = append(hidden.chunks, upstreamOnly{c})
	}
	_, fast := hidden.marshalInto(doChecksum)
	require.False(t, fast)
	raw, err := hidden.marshal(doChecksum)
	require.NoError(t, err)

	return raw
}

func testDataChunks(iData bool, sizes ...int) []chunk {
	chunks := make([]chunk, 0, len(sizes))
	for i, n := range sizes {
		userData := make([]byte, n)
		for j := range userData {
			userData[j] = byte(i*37 + j*11 + 1)
		}
		chunks = append(chunks, &chunkPayloadData{
			tsn:                    0xfffffff0 + uint32(i), //nolint:gosec
			streamIdentifier:       uint16(1000 + i),       //nolint:gosec
			streamSequenceNumber:   uint16(7 * i),          //nolint:gosec
			messageIdentifier:      0x01020304 + uint32(i), //nolint:gosec
			fragmentSequenceNumber: uint32(i),              //nolint:gosec
			payloadType:            PayloadTypeWebRTCBinary,
			userData:               userData,
			beginningFragment:      i == 0,
			endingFragment:         i == len(sizes)-1,
			unordered:              i%2 == 1,
			immediateSack:          i%3 == 2,
			iData:                  iData,
		})
	}

	return chunks
}

// TestMarshalSameBytesAsUpstream checks that DATA and I-DATA packets marshalled into one
// buffer (p2pcopy_marshal.go) are byte for byte what upstream's chunkPayloadData.marshal,
// chunkHeader.marshal and packet.marshal produce, with and without checksum, in a fresh
// allocation and in a reused arena full of old bytes.
func TestMarshalSameBytesAsUpstream(t *testing.T) {
	arena := bytes.Repeat([]byte{0xa5}, 3000)[:0] // dirty: padding and checksum must be zeroed
	for _, iData := range []bool{false, true} {
		for _, sizes := range [][]int{{0}, {1}, {2}, {3}, {4}, {1163}, {1172}, {1}, {1, 2, 3, 4, 5}, {100, 1001, 17}} {
			for _, doChecksum := range []bool{false, true} {
				pkt := &packet{sourcePort: 5000, destinationPort: 5001, verificationTag: 0xdeadbeef}
				pkt.chunks = testDataChunks(iData, sizes...)
				want := upstreamMarshal(t, pkt, doChecksum)

				got, err := pkt.marshal(doChecksum)
				require.NoError(t, err)
				assert.Equal(t, want, got, "iData %v sizes %v checksum %v", iData, sizes, doChecksum)

				arena = arena[:0]
				got, ok := pkt.marshalIntoArena(&arena, doChecksum)
				require.True(t, ok)
				assert.Equal(t, want, got, "arena: iData %v sizes %v checksum %v", iData, sizes, doChecksum)

				back := &packet{}
				require.NoError(t, back.unmarshal(doChecksum, got))
				require.Len(t, back.chunks, len(sizes))
			}
		}
	}
}

// TestMarshalArenaKeepsEarlierPackets checks that packets taken from one arena stay intact
// while later ones are added, also when the arena is replaced by a larger one.
func TestMarshalArenaKeepsEarlierPackets(t *testing.T) {
	var arena []byte
	var got, want [][]byte
	for i := range 200 {
		pkt := &packet{sourcePort: 1, destinationPort: 2, verificationTag: uint32(i)} //nolint:gosec
		pkt.chunks = testDataChunks(false, 1000+i)
		raw, ok := pkt.marshalIntoArena(&arena, true)
		require.True(t, ok)
		got = append(got, raw)
		want = append(want, upstreamMarshal(t, pkt, true))
	}
	assert.Equal(t, want, got)
	assert.LessOrEqual(t, cap(arena), sendArenaMax)
}

// TestMarshalOtherChunksUpstream checks that a packet with any other chunk takes upstream's path.
func TestMarshalOtherChunksUpstream(t *testing.T) {
	pkt := &packet{sourcePort: 1, destinationPort: 2, verificationTag: 3}
	pkt.chunks = append(testDataChunks(false, 10), &chunkSelectiveAck{cumulativeTSNAck: 9})
	var arena []byte
	_, ok := pkt.marshalIntoArena(&arena, true)
	assert.False(t, ok)
	raw, err := pkt.marshal(true)
	require.NoError(t, err)
	assert.Equal(t, upstreamMarshal(t, pkt, true), raw)
}
