// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
	"github.com/pion/transport/v5/dpipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingPacketConn keeps a copy of every datagram written while recording is on.
type recordingPacketConn struct {
	net.PacketConn
	mu        sync.Mutex
	recording bool
	written   [][]byte
}

func (r *recordingPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	r.mu.Lock()
	if r.recording {
		r.written = append(r.written, bytes.Clone(b))
	}
	r.mu.Unlock()

	return r.PacketConn.WriteTo(b, addr)
}

// TestWriteSameBytesAsUpstream checks that Conn.Write's records, sealed straight into the conn's
// buffer (p2pcopy_write.go), are byte for byte what upstream's path produces for the same record
// and keys: ApplicationData in a RecordLayer, RecordLayer.Marshal, then the suite's Encrypt.
func TestWriteSameBytesAsUpstream(t *testing.T) {
	for _, tc := range []struct {
		suite    CipherSuiteID
		sealedTo bool
	}{
		{TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{TLS_ECDHE_ECDSA_WITH_AES_128_CCM, true},
		{TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, true},
		{TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false}, // upstream's path
	} {
		t.Run(tc.suite.String(), func(t *testing.T) {
			ca, cb := dpipe.Pipe()
			rec := &recordingPacketConn{PacketConn: dtlsnet.PacketConnFromConn(ca)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			type result struct {
				c   *Conn
				err error
			}
			clientCh := make(chan result, 1)
			go func() {
				c, err := testClient(ctx, rec, ca.RemoteAddr(), &Config{CipherSuites: []CipherSuiteID{tc.suite}}, true)
				clientCh <- result{c, err}
			}()
			server, err := testServer(ctx, dtlsnet.PacketConnFromConn(cb), cb.RemoteAddr(),
				&Config{CipherSuites: []CipherSuiteID{tc.suite}}, true)
			require.NoError(t, err)
			res := <-clientCh
			require.NoError(t, res.err)
			client := res.c
			defer func() {
				_ = client.Close()
				_ = server.Close()
			}()

			client.lock.RLock()
			_, sealedTo := client.state.cipherSuite.(recordEncrypterTo)
			client.lock.RUnlock()
			assert.Equal(t, tc.sealedTo, sealedTo, "suite seals into the conn's buffer")

			rec.mu.Lock()
			rec.recording = true
			rec.mu.Unlock()
			sizes := []int{0, 1, 15, 16, 17, 1187, 1200, 4000, 1200}
			payloads := make([][]byte, len(sizes))
			buf := make([]byte, 8192)
			require.NoError(t, server.SetReadDeadline(time.Now().Add(5*time.Second))) // a record the peer drops
			for i, n := range sizes {
				payloads[i] = make([]byte, n)
				for j := range payloads[i] {
					payloads[i][j] = byte(i*31 + j*7)
				}
				sent := bytes.Clone(payloads[i])
				written, err := client.Write(payloads[i])
				require.NoError(t, err)
				assert.Equal(t, n, written)
				assert.Equal(t, sent, payloads[i], "Write must not modify the caller's slice")
				got, err := server.Read(buf)
				require.NoError(t, err)
				assert.Equal(t, payloads[i], buf[:got], "the peer decrypts what was written")
			}

			rec.mu.Lock()
			written := rec.written
			rec.mu.Unlock()
			require.Len(t, written, len(sizes))
			var firstSeq uint64
			for i, datagram := range written {
				require.GreaterOrEqual(t, len(datagram), recordlayer.FixedHeaderSize)
				epoch := binary.BigEndian.Uint16(datagram[3:])
				seq := binary.BigEndian.Uint64(append([]byte{0, 0}, datagram[5:11]...))
				if i == 0 {
					firstSeq = seq
				}
				assert.Equal(t, uint16(1), epoch)
				assert.Equal(t, firstSeq+uint64(i), seq, "records are numbered one by one")

				// Upstream's encoding of the same record with the same keys.
				upstream := &recordlayer.RecordLayer{
					Header: recordlayer.Header{
						Epoch:          epoch,
						Version:        protocol.Version1_2,
						SequenceNumber: seq,
					},
					Content: &protocol.ApplicationData{Data: payloads[i]},
				}
				raw, err := upstream.Marshal()
				require.NoError(t, err)
				client.lock.RLock()
				want, err := client.state.cipherSuite.Encrypt(upstream, raw)
				client.lock.RUnlock()
				require.NoError(t, err)
				if !tc.sealedTo {
					// CBC draws a random IV per record: compare everything but IV and ciphertext.
					assert.Equal(t, want[:recordlayer.FixedHeaderSize], datagram[:recordlayer.FixedHeaderSize])
					assert.Equal(t, len(want), len(datagram))

					continue
				}
				assert.Equal(t, want, datagram, "record %d (%d bytes of payload)", i, sizes[i])
			}
		})
	}
}
