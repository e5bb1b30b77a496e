// The transfer messages and their errors (PROTOCOL.md §2.1–§2.3): transfer/messages.go, errors.go.

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
export const protocolError = (msg) => new TransferError('protocol', msg);

const NAMES = { H: 'hello (H)', M: 'manifest (M)', A: 'accept (A)', P: 'proof (P)', R: 'resume (R)', K: 'keep-alive (K)', S: 'start (S)', D: 'data (D)', F: 'file end (F)', E: 'end (E)', C: 'complete (C)', X: 'error (X)' };
export function messageName(t) {
  if (NAMES[t]) return NAMES[t];
  const c = t.charCodeAt(0);
  if (c >= 0x21 && c < 0x7f) return `unknown type '${t}'`;
  return `unknown type 0x${c.toString(16).padStart(2, '0')}`;
}

const isSHA256Hex = (s) => typeof s === 'string' && /^[0-9a-fA-F]{64}$/.test(s);
export const isInt = (n) => typeof n === 'number' && Number.isInteger(n);

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
