// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// p2pcopy patch: Conn.Write seals application data straight into a buffer kept by the conn.
//
// Upstream's Write builds a packet, then ApplicationData.Marshal copies the payload,
// RecordLayer.Marshal copies it again behind a freshly allocated header, and the AEAD's Encrypt
// allocates the final record and copies header and explicit nonce into it: three allocations and
// copies of ~1.2 KB per datagram. With an AEAD cipher suite (all of pion's suites but the CBC
// ones) and no connection ID, writeApplicationData writes header and explicit nonce into
// c.writeBuf and seals the payload from the caller's slice right behind them. The record is
// the same, byte for byte (p2pcopy_write_test.go compares it with upstream's encoding).

// recordEncrypterTo is a cipher suite that can seal a record into the caller's buffer; see
// pkg/crypto/ciphersuite.GCM.EncryptTo.
type recordEncrypterTo interface {
	EncryptTo(dst []byte, h recordlayer.Header, payload []byte) ([]byte, error)
}

// maxKeptWriteBuf bounds the buffer a conn keeps between writes (records are MTU-sized).
const maxKeptWriteBuf = 1 << 16

// writeApplicationData writes payload as one application-data record like
// writePacketsUntil(ctx1, ctx2, ...) does, and reports false (having written nothing) when the
// cipher suite cannot seal into a buffer or the record needs a connection ID.
func (c *Conn) writeApplicationData(ctx1, ctx2 context.Context, payload []byte) (bool, error) {
	c.writeLock.Lock()
	defer c.writeLock.Unlock()

	c.lock.Lock()
	suite, ok := c.state.cipherSuite.(recordEncrypterTo)
	if !ok || len(c.state.remoteConnectionID) > 0 {
		c.lock.Unlock()

		return false, nil
	}
	// As processPacket numbers records.
	epoch := c.state.getLocalEpoch()
	for len(c.state.localSequenceNumber) <= int(epoch) {
		c.state.localSequenceNumber = append(c.state.localSequenceNumber, uint64(0))
	}
	seq := atomic.AddUint64(&c.state.localSequenceNumber[epoch], 1) - 1
	if seq > recordlayer.MaxSequenceNumber {
		c.lock.Unlock()

		return true, errSequenceNumberOverflow
	}
	raw, err := suite.EncryptTo(c.writeBuf[:0], recordlayer.Header{
		ContentType:    protocol.ContentTypeApplicationData,
		Version:        protocol.Version1_2,
		Epoch:          epoch,
		SequenceNumber: seq,
	}, payload)
	rAddr := c.rAddr
	c.lock.Unlock()
	if err != nil {
		return true, err
	}
	if cap(raw) <= maxKeptWriteBuf {
		c.writeBuf = raw[:0]
	}

	if _, err = c.nextConn.writeTo(raw, rAddr, ctx1, ctx2); err != nil {
		if errors.Is(err, context.Canceled) && c.isConnectionClosed() {
			return true, ErrConnClosed
		}

		return true, netError(err)
	}

	return true, nil
}
