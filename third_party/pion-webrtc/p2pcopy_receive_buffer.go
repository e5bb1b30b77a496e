// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

//go:build !js

package webrtc

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
