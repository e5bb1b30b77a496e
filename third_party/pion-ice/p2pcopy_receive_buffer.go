// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ice

// WithReceiveBufferSize sets how many bytes of received datagrams the agent holds for the
// application before it drops new ones (default 1 MB, maxBufferSize). A reader that falls behind
// a fast sender for a few milliseconds — a busy machine, a garbage collection — otherwise loses
// datagrams here although the socket buffer has room. Zero keeps the default.
func WithReceiveBufferSize(size int) AgentOption {
	return func(a *Agent) error {
		if size < 0 {
			return ErrInvalidReceiveBufferSize
		}
		a.receiveBufferSize = size

		return nil
	}
}

// receiveBufferLimit is the limit of a.buf: WithReceiveBufferSize's, or maxBufferSize.
func (a *Agent) receiveBufferLimit() int {
	if a.receiveBufferSize > 0 {
		return a.receiveBufferSize
	}

	return maxBufferSize
}
