// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

//go:build !js

package ice

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/transport/v5/packetio"
	"github.com/stretchr/testify/require"
)

// receivedWhileNotReading connects two agents over loopback UDP, sends n datagrams of size bytes
// from one while the other's application does not read, then reads what the receiver kept.
func receivedWhileNotReading(t *testing.T, receiverOpts []AgentOption, n, size int) int {
	t.Helper()
	base := []AgentOption{
		WithNetworkTypes([]NetworkType{NetworkTypeUDP4}),
		WithIncludeLoopback(),
		WithMulticastDNSMode(MulticastDNSModeDisabled),
		WithInterfaceFilter(func(name string) bool { return name == "lo" }),
	}
	sender, err := NewAgentWithOptions(base...)
	require.NoError(t, err)
	receiver, err := NewAgentWithOptions(append(base, receiverOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, sender.Close())
		require.NoError(t, receiver.Close())
	})
	senderConn, receiverConn := connect(t, sender, receiver)

	packet := make([]byte, size)
	for i := range n {
		_, err := senderConn.Write(packet)
		require.NoError(t, err)
		if i%50 == 49 {
			// Paced so that the kernel's socket buffer, which the agent drains, never overflows:
			// only the agent's own buffer may drop.
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond)

	got := 0
	buf := make([]byte, size+1)
	for {
		require.NoError(t, receiverConn.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
		_, err := receiverConn.Read(buf)
		if errors.Is(err, packetio.ErrTimeout) {
			return got
		}
		require.NoError(t, err)
		got++
	}
}

func TestReceiveBufferSizeHoldsUnreadDatagrams(t *testing.T) {
	// 3 MB unread: the default buffer keeps at most 1 MB, a 4 MiB one all. On a loaded machine
	// the kernel's socket buffer (not the agent's) may still drop a few datagrams when the
	// agent's socket reader is not scheduled in time, so the 4 MiB case asks for over 2 MB.
	const n, size = 3000, 1000
	require.Greater(t, receivedWhileNotReading(t, []AgentOption{WithReceiveBufferSize(4 << 20)}, n, size), 2*n/3)
	require.LessOrEqual(t, receivedWhileNotReading(t, nil, n, size), maxBufferSize/size)
}

func TestReceiveBufferSizeNegative(t *testing.T) {
	_, err := NewAgentWithOptions(WithReceiveBufferSize(-1))
	require.ErrorIs(t, err, ErrInvalidReceiveBufferSize)
}
