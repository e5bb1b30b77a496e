// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package mux

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/packetio"
	"github.com/stretchr/testify/require"
)

// keptWhileNotReading sends n packets of size bytes through a mux whose endpoint is not read,
// then reads what the endpoint kept.
func keptWhileNotReading(t *testing.T, endpointLimit, n, size int) int {
	t.Helper()
	in, out := net.Pipe()
	mux := NewMux(Config{
		Conn: out, BufferSize: size, EndpointLimit: endpointLimit,
		LoggerFactory: logging.NewDefaultLoggerFactory(),
	})
	defer func() {
		require.NoError(t, mux.Close())
		require.NoError(t, in.Close())
	}()
	e := mux.NewEndpoint(MatchAll)

	packet := make([]byte, size)
	for range n {
		// net.Pipe returns once the mux has read the packet, so every packet has been
		// dispatched (kept or dropped) before the next write returns.
		_, err := in.Write(packet)
		require.NoError(t, err)
	}
	got := 0
	buf := make([]byte, size)
	for {
		require.NoError(t, e.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err := e.Read(buf)
		if errors.Is(err, packetio.ErrTimeout) {
			return got
		}
		require.NoError(t, err)
		got++
	}
}

func TestEndpointLimit(t *testing.T) {
	// 3 MB unread: the default 1 MB limit keeps a third, a 4 MB limit all.
	const n, size = 3000, 1000
	require.Equal(t, n, keptWhileNotReading(t, 4<<20, n, size))
	require.Less(t, keptWhileNotReading(t, 0, n, size), n/2)
}
