// Steps both sides of a transfer share: reading, the hello, failing, progress (transfer/session.go).

import { MAX_MESSAGE_SIZE, PROTOCOL_VERSION, TransferError, protocolError, messageName, message, decodeMessage } from './protocol-messages.js';
import { isControl, isBidi } from './protocol-paths.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function read(conn) {
  let b;
  try {
    b = await conn.recv();
  } catch (e) {
    if (e instanceof TransferError) throw e;
    throw new TransferError('io', `connection to peer lost (${e.message ?? e})`);
  }
  if (b.length > MAX_MESSAGE_SIZE) throw protocolError(`the peer sent a message of ${b.length} bytes, more than the ${MAX_MESSAGE_SIZE} this side accepts`);
  const m = decodeMessage(b);
  if (m.type === 'X') {
    const clean = (s, max) => Array.from(String(s ?? '')).filter((c) => !isControl(c.codePointAt(0)) && !isBidi(c.codePointAt(0))).join('').slice(0, max).trim();
    const code = clean(m.body.code, 32) || 'protocol';
    throw new TransferError(code, clean(m.body.message, 1024) || `the transfer failed (${code})`, true);
  }
  return m;
}

export async function expect(conn, type) {
  const m = await read(conn);
  if (m.type !== type) throw protocolError(`the peer sent a ${messageName(m.type)} message where a ${messageName(type)} message was expected`);
  return m;
}

async function sendX(conn, err) {
  if (err.remote) return;
  try { await Promise.race([conn.send(message('X', { code: err.code, message: err.text ?? err.message })), new Promise((r) => setTimeout(r, 2000))]); } catch { /* best effort */ }
}

export async function hello(conn, role, app) {
  await conn.send(message('H', { v: PROTOCOL_VERSION, role, app }));
  const h = (await expect(conn, 'H')).body;
  if (h.v !== PROTOCOL_VERSION) throw protocolError(`your peer speaks version ${h.v} of the p2pcopy protocol and this program speaks version ${PROTOCOL_VERSION}; use the same p2pcopy version on both sides`);
  if (h.role === role) throw protocolError(`your peer is also ${role === 'send' ? 'sending' : 'receiving'}; one side must run "p2pcopy send" and the other "p2pcopy receive"`);
  if (h.role !== 'send' && h.role !== 'receive') throw protocolError(`your peer announced an unknown role ${JSON.stringify(h.role)}`);
}

// fail reports err to the peer (unless it came from the peer), closes and rethrows a
// TransferError.
// A failure that is not the protocol's own (the browser's storage, a bug) is rethrown as it is,
// for the page to put in words; the peer learns only its kind, never the browser's message (§2.3).
export async function fail(conn, err) {
  const x = err instanceof TransferError ? err
    : err?.name === 'QuotaExceededError' ? new TransferError('disk-full', 'the receiving browser has no room left for the files')
    : new TransferError('io', 'the page on the other side ran into a problem in its browser');
  if (!x.remote && x.code !== 'timeout') {
    await sendX(conn, x);
    await linger(conn);
  }
  conn.close();
  throw err instanceof Error ? err : x;
}

// linger gives the peer up to 2 s to read the X just sent and close, discarding what it
// still sends: closing at once would tear the channel down under the X.
async function linger(conn) {
  const end = Date.now() + 2000;
  try {
    while (Date.now() < end) {
      if (await Promise.race([conn.recv().then(() => false), sleep(end - Date.now()).then(() => true)])) return;
    }
  } catch { /* the peer closed: the X arrived */ }
}

export class Progress {
  constructor(onEvent, total) { this.onEvent = onEvent; this.total = total; this.bytes = 0; this.t0 = Date.now(); this.last = 0; }
  add(n, force = false) {
    this.bytes += n;
    const now = Date.now();
    if (this.onEvent && (force || now - this.last >= 100)) {
      this.last = now;
      this.onEvent({ event: 'progress', bytes: this.bytes, total: this.total, elapsed: (now - this.t0) / 1000 });
    }
  }
}
