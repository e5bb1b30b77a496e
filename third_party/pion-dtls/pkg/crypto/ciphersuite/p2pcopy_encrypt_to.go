// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ciphersuite

// p2pcopy patch: EncryptTo seals one record straight into the caller's buffer. Encrypt takes
// the record already marshalled (ApplicationData.Marshal and RecordLayer.Marshal each allocate
// and copy the payload) and allocates the encrypted record once more; EncryptTo writes the
// header and the explicit nonce into dst and lets the AEAD read the plaintext from where it is
// and write the ciphertext and tag after them: no allocation and no copy besides the
// encryption itself, and the same bytes as Encrypt.

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/pion/dtls/v3/internal/util"
	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

//nolint:err113
var errEncryptToConnectionID = &protocol.InternalError{Err: errors.New("EncryptTo: records with a connection ID are not supported")}

// sealScratch holds an AEAD nonce and the additional data of one record: passed to
// cipher.AEAD they would escape to the heap if they lived on the stack.
type sealScratch struct {
	nonce [12]byte
	ad    [13]byte
}

var sealScratchPool = sync.Pool{New: func() any { return new(sealScratch) }}

// appendRecordHeader appends the fixed 13-byte record header of h with the given fragment
// length, as recordlayer.Header.Marshal writes it, and returns dst and the new record.
func appendRecordHeader(dst []byte, h *recordlayer.Header, fragmentLen int) ([]byte, []byte) {
	start := len(dst)
	total := recordlayer.FixedHeaderSize + fragmentLen
	if cap(dst)-start < total {
		grown := make([]byte, start, start+total)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+total]
	rec := dst[start:]
	rec[0] = byte(h.ContentType)
	rec[1] = h.Version.Major
	rec[2] = h.Version.Minor
	binary.BigEndian.PutUint16(rec[3:], h.Epoch)
	util.PutBigEndianUint48(rec[5:], h.SequenceNumber)
	binary.BigEndian.PutUint16(rec[11:], uint16(fragmentLen)) //nolint:gosec // G115

	return dst, rec
}

// fillAdditionalData writes what generateAEADAdditionalData returns into ad.
func fillAdditionalData(ad *[13]byte, h *recordlayer.Header, payloadLen int) {
	binary.BigEndian.PutUint64(ad[:], h.SequenceNumber)
	binary.BigEndian.PutUint16(ad[:], h.Epoch)
	ad[8] = byte(h.ContentType)
	ad[9] = h.Version.Major
	ad[10] = h.Version.Minor
	binary.BigEndian.PutUint16(ad[11:], uint16(payloadLen)) //nolint:gosec // G115
}

// encryptTo appends to dst the record with header h (its ContentLen is ignored) and the
// plaintext payload, encrypted: the bytes encrypt returns for that record.
func (a *aead) encryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	if h.ContentType == protocol.ContentTypeConnectionID || len(h.ConnectionID) > 0 {
		return nil, errEncryptToConnectionID
	}
	if a.nonceLength != 12 {
		return nil, errNotEnoughRoomForNonce
	}
	dst, rec := appendRecordHeader(dst, &h, 8+len(payload)+a.tagLength)

	scratch := sealScratchPool.Get().(*sealScratch) //nolint:forcetypeassert
	copy(scratch.nonce[:4], a.localWriteIV[:4])
	// https://www.rfc-editor.org/rfc/rfc9325#name-nonce-reuse-in-tls-12
	seq64 := (uint64(h.Epoch) << 48) | (h.SequenceNumber & 0x0000ffffffffffff)
	binary.BigEndian.PutUint64(scratch.nonce[4:], seq64)
	copy(rec[recordlayer.FixedHeaderSize:], scratch.nonce[4:])
	fillAdditionalData(&scratch.ad, &h, len(payload))

	a.localAEAD.Seal(rec[recordlayer.FixedHeaderSize+8:recordlayer.FixedHeaderSize+8], scratch.nonce[:], payload, scratch.ad[:])
	sealScratchPool.Put(scratch)

	return dst, nil
}

// EncryptTo appends to dst the record with header h (its ContentLen is ignored; no connection
// ID) and the plaintext payload, encrypted: the same bytes as Encrypt, without allocating
// when dst has room.
func (g *GCM) EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	return g.aead.encryptTo(dst, h, payload)
}

// EncryptTo appends to dst the record with header h (its ContentLen is ignored; no connection
// ID) and the plaintext payload, encrypted: the same bytes as Encrypt, without allocating
// when dst has room.
func (c *CCM) EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	return c.aead.encryptTo(dst, h, payload)
}

// EncryptTo appends to dst the record with header h (its ContentLen is ignored; no connection
// ID) and the plaintext payload, encrypted: the same bytes as Encrypt, without allocating
// when dst has room.
func (c *ChaCha20Poly1305) EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error) {
	if h.ContentType == protocol.ContentTypeConnectionID || len(h.ConnectionID) > 0 {
		return nil, errEncryptToConnectionID
	}
	dst, rec := appendRecordHeader(dst, &h, len(payload)+chachaTagLength)

	scratch := sealScratchPool.Get().(*sealScratch) //nolint:forcetypeassert
	scratch.nonce = [12]byte{}
	copy(scratch.nonce[:], c.localWriteIV)
	// https://www.rfc-editor.org/rfc/rfc9325#name-nonce-reuse-in-tls-12
	seq64 := (uint64(h.Epoch) << 48) | (h.SequenceNumber & 0x0000ffffffffffff)
	for i := range 8 {
		scratch.nonce[4+i] ^= byte(seq64 >> (56 - uint(i)*8)) //nolint:gosec
	}
	fillAdditionalData(&scratch.ad, &h, len(payload))

	// No explicit nonce in the record (RFC 7905).
	c.localCipher.Seal(rec[recordlayer.FixedHeaderSize:recordlayer.FixedHeaderSize], scratch.nonce[:], payload, scratch.ad[:])
	sealScratchPool.Put(scratch)

	return dst, nil
}
