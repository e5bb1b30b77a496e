// The transfer protocol (docs/PROTOCOL.md §2), a port of transfer/ for the page: messages,
// a sender that reads Blobs in slices with flow control, and a receiver that writes into sinks
// the page chooses (file picker, Origin Private File System, or memory).

import { inPlace } from './hash.js';

export const MAX_MESSAGE_SIZE = 262144;
export const DEFAULT_CHUNK = 64 * 1024;
// Version 2: the resume handshake A (have) / P (proofs) / R (resume) and the keep-alive K.
export const PROTOCOL_VERSION = 2;
// How long a side waits while nothing at all arrives from the peer (§2.5), as the CLI.
export const DEFAULT_IDLE_MS = 30000;

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

// TransferError is a failure the user must see; code is one of §2.3's codes.
export class TransferError extends Error {
  constructor(code, message, remote = false) {
    super(remote ? 'peer: ' + message : message);
    this.code = code;
    this.remote = remote;
    this.text = message;
  }
}
const protocolError = (msg) => new TransferError('protocol', msg);

const NAMES = { H: 'hello (H)', M: 'manifest (M)', A: 'accept (A)', P: 'proof (P)', R: 'resume (R)', K: 'keep-alive (K)', S: 'start (S)', D: 'data (D)', F: 'file end (F)', E: 'end (E)', C: 'complete (C)', X: 'error (X)' };
function messageName(t) {
  if (NAMES[t]) return NAMES[t];
  const c = t.charCodeAt(0);
  if (c >= 0x21 && c < 0x7f) return `unknown type '${t}'`;
  return `unknown type 0x${c.toString(16).padStart(2, '0')}`;
}

const isSHA256Hex = (s) => typeof s === 'string' && /^[0-9a-fA-F]{64}$/.test(s);
const isInt = (n) => typeof n === 'number' && Number.isInteger(n);

// goJSON writes JSON as Go's encoding/json does (it escapes <, > and & and U+2028/U+2029).
export function goJSON(v) {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export function encodeMessage(type, body) {
  const j = te.encode(goJSON(body));
  const b = new Uint8Array(1 + j.length);
  b[0] = type.charCodeAt(0);
  b.set(j, 1);
  return b;
}

// Canonical member order of each message, as the Go structs have it.
const ORDER = {
  H: (m) => ({ v: m.v, role: m.role, ...(m.app ? { app: m.app } : {}) }),
  S: (m) => ({ i: m.i, offset: m.offset }),
  F: (m) => ({ i: m.i, sha256: m.sha256 }),
  C: (m) => ({ files: m.files, bytes: m.bytes }),
  X: (m) => ({ code: m.code, message: m.message }),
  E: () => ({}),
  K: () => ({}),
  A: (m) => ({ have: (m.have ?? []).map((r) => ({ i: r.i, offset: r.offset })) }),
  P: (m) => ({ proofs: (m.proofs ?? []).map((r) => ({ i: r.i, offset: r.offset, sha256: r.sha256 })) }),
  R: (m) => ({ resume: (m.resume ?? []).map((r) => ({ i: r.i, offset: r.offset })) }),
  M: (m) => ({ entries: m.entries.map(wireEntry), more: !!m.more }),
};
// Paths travel composed (NFC, §2.2): names picked on macOS may come decomposed.
export const wireEntry = (e) => ({ path: String(e.path).normalize('NFC'), kind: e.kind, size: e.kind === 'dir' ? 0 : e.size, mode: e.mode ?? 0, mtime: e.mtime ?? 0 });
export const message = (type, body) => encodeMessage(type, ORDER[type](body));

// decodeMessage parses one message from the peer: {type, body} or {type: 'D', data}.
// It throws a TransferError with code "protocol".
export function decodeMessage(b) {
  if (b.length === 0) throw protocolError('the peer sent an empty message');
  const type = String.fromCharCode(b[0]);
  if (type === 'D') return { type, data: b.subarray(1) };
  if (!NAMES[type]) throw protocolError(`the peer sent a message of ${messageName(type)}`);
  let body;
  try {
    const text = td.decode(b.subarray(1));
    if (!/^[ \t\r\n]*\{/.test(text)) throw new Error('the body is not a JSON object');
    body = JSON.parse(text);
  } catch (e) {
    const why = e instanceof SyntaxError ? e.message : e instanceof TypeError ? 'not valid UTF-8' : e.message;
    throw protocolError(`the peer sent a malformed ${messageName(type)} message: ${why}`);
  }
  const why = validate(type, body);
  if (why.startsWith('malformed ')) throw protocolError(`the peer sent a malformed ${messageName(type)} message: ${why.slice(10)}`);
  if (why) throw protocolError(`the peer sent an invalid ${messageName(type)} message: ${why}`);
  return { type, body };
}

// validate checks types (what Go's decoder enforces) and the values that must always hold.
function validate(type, m) {
  const int = (v, what) => (v === undefined || isInt(v) ? '' : `malformed ${what} is not an integer`);
  switch (type) {
    case 'H':
      return int(m.v, 'v') || (m.role !== undefined && typeof m.role !== 'string' ? 'malformed role is not a string' : '');
    case 'M': {
      if (m.entries != null && !Array.isArray(m.entries)) return 'malformed entries is not a list';
      for (const e of m.entries ?? []) {
        if (e === null || typeof e !== 'object') return 'malformed an entry is not an object';
        if (typeof (e.path ?? '') !== 'string' || typeof (e.kind ?? '') !== 'string') return 'malformed an entry has a path or kind that is not a string';
        for (const k of ['size', 'mode', 'mtime']) { const w = int(e[k], k); if (w) return w; }
        if (e.mode !== undefined && (e.mode < 0 || e.mode > 0xffffffff)) return 'malformed mode out of range';
        const q = JSON.stringify(e.path ?? '');
        switch (e.kind) {
          case 'file': case 'text': if ((e.size ?? 0) < 0) return `entry ${q} has a negative size`; break;
          case 'stream': if ((e.size ?? 0) < -1) return `entry ${q} has a negative size`; break;
          case 'dir': break;
          default: return `entry ${q} has an unknown kind ${JSON.stringify(e.kind ?? '')}`;
        }
      }
      return '';
    }
    case 'A': case 'P': case 'R': {
      const key = { A: 'have', P: 'proofs', R: 'resume' }[type];
      if (m[key] != null && !Array.isArray(m[key])) return `malformed ${key} is not a list`;
      for (const r of m[key] ?? []) {
        const w = int(r.i, 'i') || int(r.offset, 'offset');
        if (w) return w;
        if ((r.i ?? 0) < 0 || (r.offset ?? 0) < 0) return 'negative index or offset';
        if (type === 'P' && !isSHA256Hex(r.sha256)) return 'sha256 is not 64 hex digits';
      }
      return '';
    }
    case 'S':
      return int(m.i, 'i') || int(m.offset, 'offset') || ((m.i ?? 0) < 0 || (m.offset ?? 0) < 0 ? 'negative index or offset' : '');
    case 'F':
      return int(m.i, 'i') || ((m.i ?? 0) < 0 ? 'negative index' : '') || (!isSHA256Hex(m.sha256) ? 'sha256 is not 64 hex digits' : '');
    case 'C':
      return int(m.files, 'files') || int(m.bytes, 'bytes') || ((m.files ?? 0) < 0 || (m.bytes ?? 0) < 0 ? 'negative count' : '');
  }
  return '';
}

// encodeManifest splits entries over M messages of at most limit bytes (as Go does).
export function encodeManifest(entries, limit = MAX_MESSAGE_SIZE) {
  const head = te.encode('M{"entries":['), more = te.encode('],"more":true}'), last = te.encode('],"more":false}');
  const msgs = [];
  let cur = [head], len = head.length, n = 0;
  const flush = (tail) => {
    const b = new Uint8Array(len + tail.length);
    let o = 0;
    for (const p of cur) { b.set(p, o); o += p.length; }
    b.set(tail, o);
    return b;
  };
  for (const e of entries) {
    const ej = te.encode(goJSON(wireEntry(e)));
    if (head.length + ej.length + last.length > limit) throw new TransferError('limit', `the manifest entry for ${e.path} does not fit in a message`);
    if (len + 1 + ej.length + last.length > limit) {
      msgs.push(flush(more));
      cur = [head]; len = head.length; n = 0;
    }
    if (n > 0) { cur.push(te.encode(',')); len += 1; }
    cur.push(ej); len += ej.length; n++;
  }
  msgs.push(flush(last));
  return msgs;
}

// ---------------------------------------------------------------------------------------------
// Paths (§2.4): what a receiver refuses.

function isControl(cp) { return cp < 0x20 || (cp >= 0x7f && cp < 0xa0); }
// Format characters (Cf) and line/paragraph separators show as nothing; ZWNJ and ZWJ stay
// allowed (Persian and Indic names, emoji sequences need them), as in Go.
function isInvisible(cp) {
  if (cp === 0x200c || cp === 0x200d) return false;
  return /\p{Cf}/u.test(String.fromCodePoint(cp)) || cp === 0x2028 || cp === 0x2029;
}
function isBidi(cp) { return cp === 0x200e || cp === 0x200f || cp === 0x061c || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069); }
function reserved(c) {
  let base = c;
  const i = base.search(/[.:]/);
  if (i >= 0) base = base.slice(0, i);
  base = base.replace(/ +$/, '').toUpperCase();
  return /^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$)$/.test(base) || /^(COM|LPT)[0-9¹²³]$/.test(base);
}
export function pathProblem(p) {
  if (p === '') return 'it is empty';
  if (te.encode(p).length > 4096) return 'it is longer than 4096 bytes';
  if (p[0] === '/') return 'it is absolute';
  for (const ch of p) {
    const cp = ch.codePointAt(0);
    if (cp === 0) return 'it contains a NUL character';
    if (ch === '\\') return 'it contains a backslash';
    if (isControl(cp)) return 'it contains a control character';
    if (isBidi(cp)) return 'it contains a bidirectional text override';
    if (isInvisible(cp)) return `it contains the invisible character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  for (const c of p.split('/')) {
    if (c === '') return 'it contains an empty component';
    if (c === '.') return 'it contains a "." component';
    if (c === '..') return 'it contains a ".." component';
    if (te.encode(c).length > 255) return 'a component is longer than 255 bytes';
    if (c.length >= 2 && c[1] === ':' && /[a-zA-Z]/.test(c[0])) return 'it contains a drive letter';
    if (reserved(c)) return 'it contains a name reserved on Windows';
  }
  return '';
}

export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  let f = n;
  for (const u of ['kB', 'MB', 'GB', 'TB', 'PB']) {
    f /= 1000;
    if (f < 999.95) return `${f.toFixed(1)} ${u}`;
  }
  return `${(f / 1000).toFixed(1)} EB`;
}

// ---------------------------------------------------------------------------------------------
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
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

// ---------------------------------------------------------------------------------------------
// Shared session steps.

async function read(conn) {
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

async function expect(conn, type) {
  const m = await read(conn);
  if (m.type !== type) throw protocolError(`the peer sent a ${messageName(m.type)} message where a ${messageName(type)} message was expected`);
  return m;
}

async function sendX(conn, err) {
  if (err.remote) return;
  try { await Promise.race([conn.send(message('X', { code: err.code, message: err.text ?? err.message })), new Promise((r) => setTimeout(r, 2000))]); } catch { /* best effort */ }
}

async function hello(conn, role, app) {
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
async function fail(conn, err) {
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

class Progress {
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

// ---------------------------------------------------------------------------------------------
// Sender.

// send offers items and sends them once the peer accepted. An item is
// {path, kind: 'file'|'dir'|'text', size, mode, mtime, blob}. It resolves after the receiver's C
// with {files, bytes, sent, resumed, seconds}. opts.hashes computes the SHA-256 sums (hash.js:
// a worker's; by default on this thread).
export async function send(conn, items, opts = {}) {
  const chunk = Math.min(opts.chunkSize || DEFAULT_CHUNK, MAX_MESSAGE_SIZE - 1);
  const readSize = Math.max(chunk, opts.readSize || 4 * 1024 * 1024);
  const hashes = opts.hashes ?? inPlace;
  const onEvent = opts.onEvent;
  const t0 = Date.now();
  conn = live(conn, opts.idleTimeout ?? DEFAULT_IDLE_MS);
  try {
    await hello(conn, 'send', opts.app || 'p2pcopy-web');
    for (const b of encodeManifest(items)) await conn.send(b);
    const total = items.reduce((n, it) => n + (it.kind === 'dir' ? 0 : it.size), 0);
    onEvent?.({ event: 'manifest', entries: items.length, total });
    const have = (await expect(conn, 'A')).body.have ?? [];
    const seen = new Set();
    for (const r of have) {
      const e = items[r.i];
      if (!e) throw protocolError(`the peer offered to resume entry ${r.i}, but the transfer has ${items.length} entries`);
      if (e.kind === 'dir') throw protocolError(`the peer offered to resume ${e.path}, which is a directory`);
      if (r.offset > e.size) throw protocolError(`the peer offered to resume ${e.path} at byte ${r.offset}, but it has only ${e.size} bytes`);
      if (seen.has(r.i)) throw protocolError(`the peer offered to resume ${e.path} twice`);
      seen.add(r.i);
    }
    // The receiver said how many bytes it holds; prove them with their hash (P), and resume
    // what it agrees to (R). It never tells us a hash of its files.
    const resume = new Map();
    if (have.length > 0) {
      const proofs = [], states = new Map();
      for (const r of have) {
        const it = items[r.i];
        if (it.kind !== 'file' || r.offset === 0) continue;
        const h = hashes.create();
        for (let off = 0; off < r.offset; off += readSize) {
          await h.update(new Uint8Array(await it.blob.slice(off, Math.min(r.offset, off + readSize)).arrayBuffer()), true);
        }
        states.set(r.i, h);
        proofs.push({ i: r.i, offset: r.offset, sha256: await h.hex(true) });
      }
      await conn.send(message('P', { proofs }));
      for (const r of (await expect(conn, 'R')).body.resume ?? []) {
        const p = proofs.find((x) => x.i === r.i);
        if (!p) throw protocolError(`the peer agreed to resume entry ${r.i}, which was not proved`);
        if (p.offset !== r.offset) throw protocolError(`the peer agreed to resume ${items[r.i].path} at byte ${r.offset}, but ${p.offset} bytes were proved`);
        if (resume.has(r.i)) throw protocolError(`the peer agreed to resume ${items[r.i].path} twice`);
        resume.set(r.i, { offset: r.offset, h: states.get(r.i) });
      }
      for (const [i, h] of states) if (!resume.has(i)) h.free();
    }
    const prog = new Progress(onEvent, total);
    let files = 0, sent = 0, resumed = 0;
    const checkPeer = async () => {
      if (conn.pending()) {
        const m = await read(conn);
        throw protocolError(`the peer sent a ${messageName(m.type)} message while the transfer was running`);
      }
    };
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind === 'dir') continue;
      const blob = it.kind === 'text' ? new Blob([it.text]) : it.blob;
      let h;
      let offset = 0;
      const r = resume.get(i);
      if (r) {
        h = r.h; // goes on from the proved prefix: F covers the whole file
        offset = r.offset;
        onEvent?.({ event: 'resume', path: it.path, offset });
      }
      h ??= hashes.create();
      await conn.send(message('S', { i, offset }));
      resumed += offset;
      prog.add(offset, true);
      // Read ahead one block while the previous one is being sent.
      let next = offset < it.size ? blob.slice(offset, Math.min(it.size, offset + readSize)).arrayBuffer() : null;
      let pos = offset;
      while (next) {
        const block = new Uint8Array(await next);
        if (block.length === 0) throw new TransferError('changed', `${it.path} changed while it was being sent; send it again when it is no longer being written`);
        const blockEnd = pos + block.length;
        next = blockEnd < it.size ? blob.slice(blockEnd, Math.min(it.size, blockEnd + readSize)).arrayBuffer() : null;
        for (let o = 0; o < block.length; o += chunk) {
          const part = block.subarray(o, Math.min(block.length, o + chunk));
          const d = new Uint8Array(1 + part.length);
          d[0] = 0x44;
          d.set(part, 1);
          await checkPeer();
          await conn.send(d);
          sent += part.length;
          prog.add(part.length);
        }
        // Its D messages are copies: the block goes to the hash as it is.
        await h.update(block, true);
        pos = blockEnd;
      }
      await conn.send(message('F', { i, sha256: await h.hex() }));
      files++;
      onEvent?.({ event: 'file-done', path: it.path });
    }
    await checkPeer();
    await conn.send(message('E', {}));
    prog.add(0, true);
    await expect(conn, 'C');
    onEvent?.({ event: 'done' });
    conn.close();
    return { files, bytes: prog.bytes, sent, resumed, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    return fail(conn, e);
  }
}

// ---------------------------------------------------------------------------------------------
// Receiver.

// receive accepts a transfer. opts.confirm(entries) is called once the manifest arrived and
// passed the checks; it returns (or resolves to) either openSink(entry, index), or a store that
// can resume: {open(entry, index, offset), held: [{i, offset}], prefix(i, offset)}.
// open returns a sink {write(u8), close(), abort(), discard()} for a file, writing after the
// first offset bytes it already holds (0: from the start; write may take u8's buffer over), or
// throws a TransferError (e.g. code "limit" for a file too big for the save path); held lists what the store kept of entries from
// an earlier run, and prefix(i, offset) yields the first offset bytes it holds of entry i
// (Uint8Arrays, in order). Text entries are passed to opts.onText(path, text). opts.hashes
// computes the SHA-256 sums (hash.js: a worker's; by default on this thread).
// Resume (§2.3): A offers held; the sender proves (P) the SHA-256 of its own first offset bytes
// and this side, hashing what it holds, agrees (R) to exactly those that match. It never reveals
// a hash of what it holds.
export async function receive(conn, opts = {}) {
  const onEvent = opts.onEvent;
  const hashes = opts.hashes ?? inPlace;
  const t0 = Date.now();
  let sink = null;
  conn = live(conn, opts.idleTimeout ?? DEFAULT_IDLE_MS);
  try {
    await hello(conn, 'receive', opts.app || 'p2pcopy-web');
    const entries = [];
    const kinds = new Map();
    let total = 0;
    for (;;) {
      const m = (await expect(conn, 'M')).body;
      for (const w of m.entries ?? []) {
        const e = { path: typeof w.path === 'string' ? w.path.normalize('NFC') : '', kind: w.kind, size: w.kind === 'dir' ? 0 : (w.size ?? 0), mode: w.mode ?? 0, mtime: w.mtime ?? 0 };
        const why = pathProblem(e.path);
        if (why) throw new TransferError('unsafe-path', `refusing the transfer: unsafe path ${JSON.stringify(e.path)}: ${why}`);
        if (e.path.endsWith('.p2pcopy-part')) throw new TransferError('unsafe-path', `refusing the transfer: the name ${JSON.stringify(e.path)} ends in .p2pcopy-part, which is reserved for partial files`);
        if (kinds.has(e.path)) throw protocolError(`the peer's list of files contains ${JSON.stringify(e.path)} twice`);
        kinds.set(e.path, e.kind);
        if (entries.length >= 200000) throw new TransferError('limit', 'refusing the transfer: it has more than 200000 entries, this receiver\'s limit');
        if (e.size > 0) total += e.size;
        entries.push(e);
      }
      if (!m.more) break;
    }
    onEvent?.({ event: 'manifest', entries, total });
    const store = await (opts.confirm ? opts.confirm(entries) : null);
    const openSink = typeof store === 'function' ? (e, i) => store(e, i, 0) : store ? (e, i, off) => store.open(e, i, off) : null;
    const have = offerable(entries, typeof store === 'object' && store ? store.held ?? [] : []);
    await conn.send(message('A', { have }));
    // agreed: entry index -> {offset, h (the SHA-256 of those bytes, to go on from)}
    const agreed = have.length ? await judgeProofs(conn, entries, have, store, hashes) : new Map();
    const prog = new Progress(onEvent, total);
    let next = 0; // the next non-directory entry expected
    const advance = () => { while (next < entries.length && entries[next].kind === 'dir') next++; };
    advance();
    let files = 0, resumed = 0;
    for (;;) {
      const m = await read(conn);
      if (m.type === 'E') {
        if (next < entries.length) throw protocolError(`the peer ended the transfer before sending ${JSON.stringify(entries[next].path)}`);
        break;
      }
      if (m.type !== 'S') throw protocolError(`the peer sent a ${messageName(m.type)} message where a start (S) message was expected`);
      const { i, offset } = m.body;
      if (i !== next) throw protocolError(`the peer started entry ${i} where entry ${next} was expected`);
      const e = entries[i];
      const ag = agreed.get(i);
      agreed.delete(i);
      if (offset !== 0 && offset !== ag?.offset) {
        if (!ag) throw protocolError(`the peer resumed ${JSON.stringify(e.path)} at byte ${offset}, but no resume was offered`);
        throw protocolError(`the peer wants to resume ${JSON.stringify(e.path)} at byte ${offset}, but ${ag.offset} bytes were offered`);
      }
      const h = offset ? ag.h : hashes.create();
      let got = offset;
      const textParts = [];
      sink = e.kind === 'text' ? null : openSink ? await openSink(e, i, offset) : null;
      if (offset) {
        resumed += offset;
        prog.add(offset, true);
        onEvent?.({ event: 'resume', path: e.path, index: i, offset });
      }
      onEvent?.({ event: 'file-start', path: e.path, index: i, offset });
      let fin;
      for (;;) {
        const d = await read(conn);
        if (d.type === 'F') { fin = d.body; break; }
        if (d.type !== 'D') throw protocolError(`the peer sent a ${messageName(d.type)} message in the middle of ${JSON.stringify(e.path)}`);
        const data = d.data, n = data.length; // a sink may take data's buffer over
        if (e.size >= 0 && e.kind !== 'stream' && got + data.length > e.size) throw protocolError(`the peer sent more than the ${e.size} bytes announced for ${JSON.stringify(e.path)}`);
        got += data.length;
        await h.update(data); // a copy: the sink may take data's buffer
        if (e.kind === 'text') textParts.push(data.slice());
        else if (sink) await sink.write(data);
        prog.add(n);
      }
      if (fin.i !== i) throw protocolError(`the peer ended entry ${fin.i} while entry ${i} was being sent`);
      if (e.kind !== 'stream' && got !== e.size) throw protocolError(`the peer sent ${got} of the ${e.size} bytes announced for ${JSON.stringify(e.path)}`);
      if ((await h.hex()) !== fin.sha256.toLowerCase()) {
        // What is held is wrong: keeping it would only fail the same way next time.
        try { await sink?.discard?.(); } catch { /* the error below says what matters */ }
        sink = null;
        throw new TransferError('verify', `${e.path} arrived damaged (its SHA-256 does not match the sender's); run both commands again`);
      }
      if (e.kind === 'text') {
        const all = new Uint8Array(got);
        let o = 0;
        for (const p of textParts) { all.set(p, o); o += p.length; }
        opts.onText?.(e.path, new TextDecoder().decode(all));
      } else if (sink) {
        await sink.close();
        sink = null;
      }
      files++;
      onEvent?.({ event: 'file-done', path: e.path, index: i });
      next = i + 1;
      advance();
    }
    prog.add(0, true);
    await conn.send(message('C', { files, bytes: prog.bytes }));
    await conn.drained?.();
    onEvent?.({ event: 'done' });
    // The sender closes after C; give it a moment, then close ourselves.
    await Promise.race([conn.recv().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    conn.close();
    return { files, bytes: prog.bytes, resumed, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    try { await sink?.abort?.(); } catch { /* nothing more to do */ }
    return fail(conn, e);
  }
}

// proofCost is the size one proof adds to the sender's P message: {"i":N,"offset":N,"sha256":"…"}
// and a comma.
const proofCost = (r) => `{"i":${r.i},"offset":${r.offset},"sha256":"${'0'.repeat(64)}"},`.length;

// offerable picks what A offers of what the store holds: files of the manifest with at least one
// byte held and no more than their size, each once, the largest first as long as a P proving all
// of them fits in one message (§2.3).
export function offerable(entries, held) {
  const seen = new Set();
  const ok = held.filter((r) => {
    const e = entries[r.i];
    if (!e || e.kind !== 'file' || !isInt(r.offset) || r.offset <= 0 || r.offset > e.size || seen.has(r.i)) return false;
    seen.add(r.i);
    return true;
  }).sort((a, b) => b.offset - a.offset || a.i - b.i);
  let budget = MAX_MESSAGE_SIZE - 'P{"proofs":[]}'.length + 1; // the last proof has no comma
  const out = [];
  for (const r of ok) {
    if (proofCost(r) > budget) break;
    budget -= proofCost(r);
    out.push({ i: r.i, offset: r.offset });
  }
  return out.sort((a, b) => a.i - b.i);
}

// judgeProofs reads the sender's P for what A offered, hashes the same bytes of what the store
// holds and answers R with exactly the entries whose hash matched.
async function judgeProofs(conn, entries, have, store, hashes) {
  const offered = new Map(have.map((r) => [r.i, r.offset]));
  const proofs = (await expect(conn, 'P')).body.proofs ?? [];
  const seen = new Set();
  for (const p of proofs) {
    if (!offered.has(p.i)) throw protocolError(`the peer proved entry ${p.i}, which was not offered for resuming`);
    if (p.offset !== offered.get(p.i)) throw protocolError(`the peer proved ${p.offset} bytes of ${JSON.stringify(entries[p.i].path)}, but ${offered.get(p.i)} were offered`);
    if (seen.has(p.i)) throw protocolError(`the peer proved ${JSON.stringify(entries[p.i].path)} twice`);
    seen.add(p.i);
  }
  const agreed = new Map();
  for (const p of proofs) {
    const h = hashes.create();
    let n = 0;
    try {
      for await (const part of store.prefix(p.i, p.offset)) {
        const take = part.subarray(0, Math.min(part.length, p.offset - n));
        await h.update(take);
        n += take.length;
        if (n >= p.offset) break;
      }
    } catch { n = -1; } // unreadable: started over
    if (n === p.offset && (await h.hex(true)) === p.sha256.toLowerCase()) agreed.set(p.i, { offset: p.offset, h });
    else h.free();
  }
  await conn.send(message('R', { resume: [...agreed].map(([i, a]) => ({ i, offset: a.offset })) }));
  return agreed;
}
