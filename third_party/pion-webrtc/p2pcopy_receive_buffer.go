// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

//go:build !js

package webrtc

import "github.com/pion/ice/v4"

// SetReceiveBufferSize sets how many bytes of received datagrams are held for a reader that has
// fallen behind before new ones are dropped: by the ICE agent (ice.WithReceiveBufferSize) and by
// each endpoint of the mux that hands datagrams on to DTLS and SRTP. Both default to 1 MB. A
// receiver that stalls for a few milliseconds (a busy machine, a garbage collection) while a fast
// sender fills those 1 MB loses datagrams although the socket buffer has room, and the sender
// takes the loss for congestion. Zero keeps the default; a negative size makes creating the
// ICE agent fail.
func (e *SettingEngine) SetReceiveBufferSize(size int) {
	e.receiveBufferSize = size
}

// SetOwnedReceive makes received datagrams travel from the socket to DTLS without being copied
// on the way: the ICE agent queues the buffers the sockets were read into (ice.WithOwnedReceive)
// and the mux hands those very slices to its endpoints, whose ReadOwned gives them to a DTLS
// conn that reads with it. Readers that read with Read (SRTP, SRTCP, pion/dtls without
// ReadOwned) get a copy, as before. Buffer limits and drops do not change. Off by default.
func (e *SettingEngine) SetOwnedReceive(owned bool) {
	e.ownedReceive = owned
}

// ownedReceiveOption is ice.WithOwnedReceive when owned, else an option that does nothing.
func ownedReceiveOption(owned bool) ice.AgentOption {
	if owned {
		return ice.WithOwnedReceive()
	}

	return func(*ice.Agent) error { return nil }
}
