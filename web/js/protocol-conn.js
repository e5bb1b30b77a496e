// Message channels (an RTCDataChannel, an in-memory pipe) and their keep-alive (PROTOCOL.md §2.5).

import { DEFAULT_IDLE_MS, TransferError, message, decodeMessage } from './protocol-messages.js';

// Channels. A conn has send(bytes) (resolves once there is room: flow control), recv()
// (the next message as a Uint8Array), pending() (a message is waiting) and close().

export class MessageQueue {
  constructor() { this.items = []; this.waiter = null; this.error = null; }
  push(m) {
    if (this.waiter) { const w = this.waiter; this.waiter = null; w.resolve(m); } else this.items.push(m);
  }
  fail(err) {
    if (this.error) return;
    this.error = err;
    if (this.waiter) { const w = this.waiter; this.waiter = null; w.reject(err); }
  }
  next() {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }
  pending() { return this.items.length > 0 || this.error !== null; }
}

export const FLOW = { high: 4 * 1024 * 1024, low: 1 * 1024 * 1024 };

// dataChannelConn wraps an open RTCDataChannel. Writes wait while more than high bytes are
// buffered and resume on the channel's bufferedamountlow event (threshold low).
export function dataChannelConn(dc, flow = FLOW) {
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = flow.low;
  const q = new MessageQueue();
  let lowWaiters = [];
  const wakeLow = () => { const w = lowWaiters; lowWaiters = []; w.forEach((f) => f()); };
  const lost = () => new TransferError('io', 'the connection to your peer was lost');
  dc.addEventListener('message', (e) => q.push(new Uint8Array(e.data)));
  dc.addEventListener('bufferedamountlow', wakeLow);
  dc.addEventListener('close', () => { q.fail(lost()); wakeLow(); });
  dc.addEventListener('error', () => { q.fail(lost()); wakeLow(); });
  return {
    async send(b) {
      while (dc.readyState === 'open' && dc.bufferedAmount > flow.high) {
        await new Promise((resolve) => lowWaiters.push(resolve));
      }
      if (dc.readyState !== 'open') throw lost();
      dc.send(b);
    },
    recv: () => q.next(),
    pending: () => q.pending(),
    close: () => { try { dc.close(); } catch { /* already closed */ } },
    drained: async () => {
      const t0 = Date.now();
      while (dc.readyState === 'open' && dc.bufferedAmount > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

// pipe returns two connected in-memory conns (tests).
export function pipe() {
  const qa = new MessageQueue(), qb = new MessageQueue();
  const mk = (inq, outq) => ({
    async send(b) { if (outq.error) throw new TransferError('io', 'connection to peer lost (closed)'); outq.push(b.slice()); },
    recv: () => inq.next(),
    pending: () => inq.pending(),
    close: () => { const e = new TransferError('io', 'connection to peer lost (the peer closed the connection)'); qa.fail(e); qb.fail(e); },
    drained: async () => {},
  });
  return [mk(qa, qb), mk(qb, qa)];
}

// ---------------------------------------------------------------------------------------------
// Liveness (§2.5).

const showDuration = (ms) => (ms >= 1000 ? `${Math.round(ms / 1000)}s` : `${ms}ms`);

// live wraps conn for one transfer: it sends K whenever this side wrote nothing for a
// keep-alive interval (while its user decides, while it hashes, while a slow disk holds it
// up), drops the peer's K, and ends the transfer with code "timeout" once nothing at all
// arrived for idle ms. A background reader moves the peer's other messages into a queue,
// so that pending() never reports a keep-alive.
export function live(conn, idle = DEFAULT_IDLE_MS) {
  const every = Math.max(Math.min(idle / 6, 5000), 10);
  let lastHeard = Date.now(), lastWrite = Date.now(), writing = 0, silent = null;
  const q = new MessageQueue();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - lastHeard >= idle) {
      silent = new TransferError('timeout', `your peer went silent: nothing arrived from it for ${showDuration(idle)}, not even a keep-alive (its p2pcopy may be stuck or its computer asleep)`);
      clearInterval(timer);
      q.fail(silent);
      conn.close();
      return;
    }
    if (now - lastWrite >= every && writing === 0) {
      writing++;
      lastWrite = now;
      conn.send(message('K', {})).catch(() => {}).finally(() => { writing--; });
    }
  }, Math.max(Math.min(every, idle / 20), 5));
  (async () => {
    for (;;) {
      let b;
      try {
        b = await conn.recv();
      } catch (e) {
        q.fail(silent ?? e);
        return;
      }
      lastHeard = Date.now();
      if (b.length > 0 && b[0] === 0x4b) { // K
        try { decodeMessage(b); } catch (e) { q.fail(e); return; }
        continue;
      }
      q.push(b);
    }
  })();
  return {
    async send(b) {
      writing++;
      try { await conn.send(b); } finally { writing--; lastWrite = Date.now(); }
    },
    recv: () => q.next(),
    pending: () => q.pending(),
    close: () => { clearInterval(timer); conn.close(); },
    drained: () => conn.drained?.(),
  };
}
