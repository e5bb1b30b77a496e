// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ciphersuite

import (
	"bytes"
	"testing"

	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type encrypterTo interface {
	Encrypt(pkt *recordlayer.RecordLayer, raw []byte) ([]byte, error)
	EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error)
}

func testKey(n int, seed byte) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = seed + byte(i)*13
	}

	return k
}

// TestEncryptToSameBytesAsEncrypt checks that EncryptTo produces exactly the record upstream's
// RecordLayer.Marshal + Encrypt produce, appends after what dst holds, and allocates nothing
// when dst has room.
func TestEncryptToSameBytesAsEncrypt(t *testing.T) {
	gcm128, err := NewGCM(testKey(16, 1), testKey(4, 2), testKey(16, 3), testKey(4, 4))
	require.NoError(t, err)
	gcm256, err := NewGCM(testKey(32, 5), testKey(4, 6), testKey(32, 7), testKey(4, 8))
	require.NoError(t, err)
	ccm16, err := NewCCM(CCMTagLength, testKey(16, 9), testKey(4, 10), testKey(16, 11), testKey(4, 12))
	require.NoError(t, err)
	ccm8, err := NewCCM(CCMTagLength8, testKey(16, 13), testKey(4, 14), testKey(16, 15), testKey(4, 16))
	require.NoError(t, err)
	chacha, err := NewChaCha20Poly1305(testKey(32, 17), testKey(12, 18), testKey(32, 19), testKey(12, 20))
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		suite     encrypterTo
		zeroAlloc bool // pkg/crypto/ccm allocates by itself
	}{
		"gcm128": {gcm128, true}, "gcm256": {gcm256, true}, "chacha20poly1305": {chacha, true},
		"ccm": {ccm16, false}, "ccm8": {ccm8, false},
	} {
		suite := tc.suite
		t.Run(name, func(t *testing.T) {
			for _, hdr := range []recordlayer.Header{
				{Epoch: 1, SequenceNumber: 0},
				{Epoch: 1, SequenceNumber: 0x0000_1234_5678_9abc},
				{Epoch: 0xfffe, SequenceNumber: recordlayer.MaxSequenceNumber},
			} {
				hdr.Version = protocol.Version1_2
				hdr.ContentType = protocol.ContentTypeApplicationData
				for _, n := range []int{0, 1, 16, 1187, 1200, 9000} {
					payload := testKey(n, byte(n))
					upstream := &recordlayer.RecordLayer{Header: hdr, Content: &protocol.ApplicationData{Data: payload}}
					raw, err := upstream.Marshal()
					require.NoError(t, err)
					want, err := suite.Encrypt(upstream, raw)
					require.NoError(t, err)

					got, err := suite.EncryptTo(nil, hdr, payload)
					require.NoError(t, err)
					assert.Equal(t, want, got, "%d bytes at %d/%d", n, hdr.Epoch, hdr.SequenceNumber)

					prefix := []byte("prefix")
					got, err = suite.EncryptTo(bytes.Clone(prefix), hdr, payload)
					require.NoError(t, err)
					assert.Equal(t, append(prefix, want...), got)

					if !tc.zeroAlloc {
						continue
					}
					buf := make([]byte, 0, len(want))
					allocs := testing.AllocsPerRun(20, func() {
						_, _ = suite.EncryptTo(buf, hdr, payload)
					})
					assert.Zero(t, allocs, "EncryptTo into a buffer with room allocates")
				}
			}

			cid := recordlayer.Header{
				Version: protocol.Version1_2, ContentType: protocol.ContentTypeConnectionID,
				ConnectionID: []byte{1, 2, 3},
			}
			_, err := suite.EncryptTo(nil, cid, []byte("x"))
			assert.ErrorIs(t, err, errEncryptToConnectionID)
		})
	}
}
