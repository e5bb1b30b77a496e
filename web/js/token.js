// Tokens: the short strings two people paste into a chat (docs/PROTOCOL.md §1).
// A port of signal/token.go and signal/token_errors.go: same error kinds, same messages.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { capPaste, stripPaste, cleanPaste, tokenFromJSON, member, unwrapPaste, findCandidates, tokenEndsAt, caseWasChanged, linkProtected } from './paste.js';

export { cleanPaste };

export const TOKEN_PREFIX = 'p2pc1.';
export const OFFER = 'offer';
export const ANSWER = 'answer';
export const ROLES = ['unknown', 'sender', 'receiver'];
export const CAND_TYPES = ['host', 'srflx', 'prflx', 'relay'];

const UFRAG_MIN = 4, UFRAG_MAX = 32, PWD_MIN = 22, PWD_MAX = 64, MAX_CANDIDATES = 16, MAX_SUMMARY_NAME = 40;
const FLAG_ANSWER = 1, FLAG_ROLE_MASK = 3 << 1, FLAG_ACTIVE = 1 << 3, FLAG_SUMMARY = 1 << 4, FLAG_SYMMETRIC = 1 << 5, FLAG_RENDEZVOUS = 1 << 6, FLAG_ACKS = 1 << 6, FLAG_RESERVED = 1 << 7;
// The rendezvous secret of an offer (flags bit 6, §1.3). The page reads it (a CLI's offer may carry
// one) but has no use for it: it can send neither raw UDP nor to the DHT (§4), so it never writes one.
// In an answer the same bit (no bytes follow) says its author, a p2pcopy CLI, reads acknowledgements
// (§4.4): the page decodes it as `acks` and ignores it, and its own answers (fromSDP) never set it,
// so that a CLI never sends the page anything but standard WebRTC.
const RENDEZVOUS_SIZE = 16;
const FORM_IPV4 = 0, FORM_IPV6 = 1, FORM_MDNS = 2, FORM_NAME = 3;

// Every message a person can see about a token, verbatim as in signal/token_errors.go.
const MSG = {
  empty: 'bad token: nothing was pasted; copy the whole token your peer sent (it starts with p2pc1.) and paste it again',
  notAToken: 'bad token: this is not a p2pcopy token (it should start with p2pc1.); copy the whole token your peer sent',
  version: (v) => `bad token: it was made by a different p2pcopy version (token format ${v}, this p2pcopy reads format 1); use the same p2pcopy version on both sides`,
  truncatedCount: (have, need) => `bad token: it is cut short (${have} of at least ${need} characters); copy the whole token again, including its end`,
  truncated: 'bad token: it is cut short; copy the whole token again, including its end',
  checksum: 'bad token: it is damaged (checksum mismatch); copy it again exactly, or ask your peer to send it again',
  badChar: (c) => `bad token: it is damaged (it contains ${c}, which no token has); copy it again exactly, or ask your peer to send it again`,
  twoTokens: 'bad token: these are two or more tokens run together; paste only the latest token your peer sent',
  twoDifferent: 'bad token: the pasted text holds two different tokens; paste only the latest token your peer sent',
  caseChanged: 'bad token: it is damaged (its capital letters were changed to small ones, and a token needs both); copy it again exactly, or ask your peer to send it in a way that keeps capital letters',
  linkProtected: 'bad token: this link was rewritten by a mail security service (Mimecast) and no longer holds the token; ask your peer to send the token itself as text (it starts with p2pc1.)',
  trailing: 'bad token: it is damaged (extra characters after its end); copy it again exactly, or ask your peer to send it again',
  badContents: (why) => `bad token: it holds invalid data (${why}) although its checksum is right; make sure both sides run an unmodified p2pcopy and ask your peer for a new token`,
  badSDP: (why) => `bad token: it is damaged (${why}); copy it again exactly, or ask your peer to send it again`,
  answerNotOffer: 'bad token: this is an answer, but an offer was expected; the answer goes back to the side that printed the first token',
  offerNotAnswer: 'bad token: this is an offer, but an answer was expected; your peer should paste your token and send you the answer it then prints',
  bothSend: "bad token: your peer is also sending; one side runs 'p2pcopy send', the other 'p2pcopy receive'",
  bothReceive: "bad token: your peer is also receiving; one side runs 'p2pcopy send', the other 'p2pcopy receive'",
  ownToken: 'bad token: this is your own token; send it to your peer and paste the token they send back',
  noCandidates: 'bad token: it contains no usable network address for your peer; ask them to check their network connection (and not to use --no-stun across the internet), then send a new token',
};

// TokenError is what decode and check throw. kind is one of the stable kinds of §1.2.
export class TokenError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'TokenError';
    this.kind = kind;
  }
}

const enc = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// Small helpers: ICE strings, host names, IP addresses as Go's net/netip reads and prints them.

const isICEChar = (c) => /[A-Za-z0-9+/]/.test(c);
function validICEString(s, min, max) {
  if (s.length < min || s.length > max) return false;
  for (const c of s) if (c.length !== 1 || !isICEChar(c)) return false;
  return true;
}

export function parseIPv4(s) {
  const p = s.split('.');
  if (p.length !== 4) return null;
  const out = [];
  for (const x of p) {
    if (!/^[0-9]{1,3}$/.test(x) || (x.length > 1 && x[0] === '0')) return null;
    const n = Number(x);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

// parseIP returns {bytes: Uint8Array(4|16), zone} or null, following netip.ParseAddr.
export function parseIP(s) {
  if (s.includes(':')) {
    let zone = '';
    const z = s.indexOf('%');
    if (z >= 0) {
      zone = s.slice(z + 1);
      if (zone === '') return null;
      s = s.slice(0, z);
    }
    let tail = [];
    const lastColon = s.lastIndexOf(':');
    const last = s.slice(lastColon + 1);
    if (last.includes('.')) {
      const v4 = parseIPv4(last);
      if (!v4) return null;
      tail = v4;
      s = s.slice(0, lastColon + 1) + '0:0';
    }
    const halves = s.split('::');
    if (halves.length > 2) return null;
    const groups = (h) => (h === '' ? [] : h.split(':'));
    const head = groups(halves[0]);
    const rest = halves.length === 2 ? groups(halves[1]) : [];
    const okGroup = (g) => /^[0-9a-fA-F]{1,4}$/.test(g);
    if (![...head, ...rest].every(okGroup)) return null;
    let all;
    if (halves.length === 2) {
      const fill = 8 - head.length - rest.length;
      if (fill < 1) return null;
      all = [...head, ...Array(fill).fill('0'), ...rest];
    } else {
      all = head;
    }
    if (all.length !== 8) return null;
    const b = new Uint8Array(16);
    all.forEach((g, i) => { const n = parseInt(g, 16); b[2 * i] = n >> 8; b[2 * i + 1] = n & 255; });
    if (tail.length) b.set(tail, 12);
    return { bytes: b, zone };
  }
  const v4 = parseIPv4(s);
  return v4 ? { bytes: Uint8Array.from(v4), zone: '' } : null;
}

const isMapped = (b) => b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 255 && b[11] === 255;
export function unmap(b) { return isMapped(b) ? b.slice(12) : b; }

// formatIP prints an address as netip.Addr.String does (RFC 5952 for IPv6).
export function formatIP(b) {
  if (b.length === 4) return Array.from(b).join('.');
  if (isMapped(b)) return '::ffff:' + Array.from(b.slice(12)).join('.');
  const g = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) { out += '::'; i += bestLen - 1; continue; }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += g[i].toString(16);
  }
  return out;
}

function validHostName(s) {
  if (s === '' || enc.encode(s).length > 255) return false;
  if (!/^[A-Za-z0-9._-]+$/.test(s)) return false;
  return parseIP(s) === null;
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export function fromHex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

function mdnsUUID(s) {
  if (s.length !== 36 + 6 || !s.endsWith('.local')) return null;
  const u = s.slice(0, 36);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u)) return null;
  return fromHex(u.replaceAll('-', ''));
}
function formatMDNS(u) {
  const h = hex(u);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}.local`;
}

// summaryName cuts a display name to 40 bytes of UTF-8 at a character boundary.
function summaryNameBytes(s) {
  let b = enc.encode(s);
  if (b.length <= MAX_SUMMARY_NAME) return b;
  let n = MAX_SUMMARY_NAME;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return b.slice(0, n);
}

// CRC-32 (IEEE).
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(bytes, crc = 0) {
  crc = ~crc >>> 0;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 255] ^ (crc >>> 8);
  return ~crc >>> 0;
}
const tokenCRC = (body) => crc32(body, crc32(enc.encode(TOKEN_PREFIX)));

// base64url without padding; decoding ignores unused bits of the last character (as Go does).
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export function base64urlEncode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += B64[(n >> 6) & 63];
    if (i + 2 < bytes.length) out += B64[n & 63];
  }
  return out;
}
// s must hold only alphabet characters and not have length 4k+1.
function base64Decode(s, alphabet) {
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0, bits = 0, j = 0;
  for (const c of s) {
    acc = (acc << 6) | alphabet.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 255;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
const base64Len = (n) => Math.floor(n / 3) * 4 + [0, 2, 3][n % 3];

// ---------------------------------------------------------------------------------------------
// Encoding.

// encodeToken writes a token (an object as decodeToken returns it) as text.
export function encodeToken(t) {
  const k = t.kind === ANSWER ? 1 : 0;
  const role = ROLES.indexOf(t.role ?? 'unknown');
  if (role < 0) throw new Error(`encode token: role ${t.role} out of range`);
  if (k === 0 && t.active) throw new Error('encode token: an offer cannot be active');
  if (!validICEString(t.ufrag, UFRAG_MIN, UFRAG_MAX)) throw new Error(`encode token: ICE ufrag ${JSON.stringify(t.ufrag)} is not 4..32 ice-chars`);
  if (!validICEString(t.pwd, PWD_MIN, PWD_MAX)) throw new Error('encode token: ICE pwd is not 22..64 ice-chars');
  if (t.rendezvous && (k !== 0 || t.rendezvous.length !== RENDEZVOUS_SIZE)) throw new Error('encode token: a rendezvous secret must be 16 bytes in an offer');
  if (t.acks && k !== 1) throw new Error('encode token: only an answer says it reads acknowledgements');
  if (t.candidates.length > MAX_CANDIDATES) throw new Error(`encode token: ${t.candidates.length} candidates, at most 16 fit`);
  const b = [];
  let flags = k | (role << 1);
  if (t.active) flags |= FLAG_ACTIVE;
  if (t.summary) flags |= FLAG_SUMMARY;
  if (t.symmetricNAT) flags |= FLAG_SYMMETRIC;
  if (t.rendezvous) flags |= FLAG_RENDEZVOUS;
  if (t.acks) flags |= FLAG_ACKS;
  b.push(flags, t.ufrag.length, ...enc.encode(t.ufrag), t.pwd.length, ...enc.encode(t.pwd), ...t.fingerprint, ...(t.rendezvous ?? []));
  b.push(t.candidates.length);
  t.candidates.forEach((c, i) => {
    const type = CAND_TYPES.indexOf(c.type);
    if (type < 0) throw new Error(`encode token: candidate ${i}: type ${c.type} out of range`);
    if (c.addr && c.host) throw new Error(`encode token: candidate ${i} has both an address and a host name`);
    if (c.addr) {
      const ip = parseIP(c.addr);
      if (!ip) throw new Error(`encode token: candidate ${i}: bad address ${c.addr}`);
      b.push(type | ((ip.bytes.length === 4 ? FORM_IPV4 : FORM_IPV6) << 2), ...ip.bytes);
    } else {
      const u = mdnsUUID(c.host ?? '');
      if (u) b.push(type | (FORM_MDNS << 2), ...u);
      else if (validHostName(c.host ?? '')) { const h = enc.encode(c.host); b.push(type | (FORM_NAME << 2), h.length, ...h); }
      else throw new Error(`encode token: candidate ${i}: host name ${JSON.stringify(c.host)} is not a plain DNS name`);
    }
    b.push(c.port >> 8, c.port & 255);
  });
  if (t.summary) {
    pushUvarint(b, t.summary.entries);
    pushUvarint(b, t.summary.total_bytes);
    const name = summaryNameBytes(t.summary.name);
    b.push(name.length, ...name);
  }
  const crc = tokenCRC(Uint8Array.from(b));
  b.push(crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255);
  return TOKEN_PREFIX + base64urlEncode(Uint8Array.from(b));
}

function pushUvarint(b, n) {
  let v = BigInt(n);
  while (v >= 0x80n) {
    b.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  b.push(Number(v));
}

// ---------------------------------------------------------------------------------------------
// Decoding (§1.2).

function splitVersion(s) {
  const m = /^p2pc([0-9]+)\./.exec(s);
  if (!m) return null;
  return { version: m[1], rest: s.slice(m[0].length) };
}

const isB64URLChar = (c) => /^[A-Za-z0-9_-]$/.test(c);

function quoteChar(c) {
  if (/^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u.test(c)) return `the character '${c}'`;
  const cp = c.codePointAt(0);
  if (cp >= 0xd800 && cp <= 0xdfff) return 'an invalid character';
  return `the invisible character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function badCharErr(payload, ok) {
  for (let i = 0; i < payload.length; i++) {
    if (ok(payload[i])) continue;
    if (payload[i] === '.') {
      let j = i;
      while (j > 0 && payload[j - 1] >= '0' && payload[j - 1] <= '9') j--;
      if (j < i && payload.slice(0, j).endsWith('p2pc')) return new TokenError('corrupted', MSG.twoTokens);
    }
    return new TokenError('corrupted', MSG.badChar(quoteChar(String.fromCodePoint(payload.codePointAt(i)))));
  }
  return null;
}

// decodeToken reads a pasted token, forgiving about what chat and mail programs do to text and
// strict about content (§1.2): the token may be anywhere inside the text. It returns {kind, role,
// active, ufrag, pwd, fingerprint (Uint8Array 32), rendezvous (Uint8Array 16 or null), acks
// (answers: true when a CLI wrote it, §4.4; the page ignores it), candidates, summary} and throws TokenError.
// The order of its steps is that of signal.Decode (signal/paste.go).
export function decodeToken(text) {
  text = capPaste(String(text ?? ''));
  const c = stripPaste(text);
  if (c.startsWith('{')) text = tokenFromJSON(c);
  text = unwrapPaste(text);
  let found = null, best = null;
  for (const cand of findCandidates(text)) {
    const r = readCandidate(cand);
    if (!r.err) {
      if (found && found.key !== r.key) throw new TokenError('corrupted', MSG.twoDifferent);
      found = r;
    } else if (!best || r.payload.length > best.payload.length) {
      best = r;
    }
  }
  if (found) return found.t;
  const w = decodeWhole(text);
  if (!w.err) return w.t;
  let err = w.err, payload = w.payload;
  if (!w.whole && best) {
    err = best.err;
    payload = best.payload;
  } else if (!w.whole && err.kind === 'not-a-token' && linkProtected(text)) {
    err = new TokenError('not-a-token', MSG.linkProtected);
  }
  if ((err.kind === 'truncated' || err.kind === 'corrupted') && caseWasChanged(payload)) {
    err = new TokenError('corrupted', MSG.caseChanged);
  }
  throw err;
}

const versionErr = (v) => new TokenError('version', MSG.version(v.length > 12 ? v.slice(0, 12) + '…' : v));

// readCandidate reads the characters after a token prefix; see readCandidate in signal/paste.go.
function readCandidate({ version, chars, brk }) {
  if (version !== '1') return { payload: chars, err: versionErr(version) };
  let r = readBinary(chars);
  if (r.err && r.size > 0 && r.size < chars.length && tokenEndsAt(chars, r.size, brk)) r = readBinary(chars.slice(0, r.size));
  return { payload: chars, t: r.t, key: r.body ? r.body.join(',') : '', err: r.err };
}

// decodeWhole reads text as a paste that holds only the token; see decodeWhole in signal/paste.go.
function decodeWhole(text) {
  const s = cleanPaste(text);
  if (s === '') return { err: new TokenError('empty', MSG.empty), payload: '', whole: false };
  const v = splitVersion(s);
  if (v) {
    if (v.version !== '1') return { err: versionErr(v.version), payload: '', whole: true };
    const r = readBinary(v.rest);
    return { t: r.t, err: r.err, payload: v.rest, whole: true };
  }
  if (s.startsWith('eyJ')) {
    try {
      return { t: decodePion(s), err: null, payload: '', whole: true };
    } catch (e) {
      if (e instanceof TokenError) return { err: e, payload: '', whole: true };
      throw e;
    }
  }
  return { err: new TokenError('not-a-token', MSG.notAToken), payload: '', whole: false };
}

// readBinary decodes the payload of a "p2pc1." token into {t, body, size, err}: body (fields and
// checksum) with the token; size, whenever the fields are complete, the number of payload
// characters they and the checksum take, also when the token is refused (err).
function readBinary(payload) {
  const e = badCharErr(payload, isB64URLChar);
  if (e) return { err: e, size: 0 };
  const chars = TOKEN_PREFIX.length + payload.length;
  const dangling = payload.length % 4 === 1;
  if (dangling) payload = payload.slice(0, -1);
  const body = base64Decode(payload, B64);
  const r = new BodyReader(body);
  const t = r.token();
  const end = r.off;
  if (r.short) {
    return { err: new TokenError('truncated', MSG.truncatedCount(chars, Math.max(TOKEN_PREFIX.length + base64Len(r.need + 4), chars + 1))), size: 0 };
  }
  if (body.length < end + 4) {
    return { err: new TokenError('truncated', MSG.truncatedCount(chars, Math.max(TOKEN_PREFIX.length + base64Len(end + 4), chars + 1))), size: 0 };
  }
  const size = base64Len(end + 4);
  const crc = ((body[end] << 24) | (body[end + 1] << 16) | (body[end + 2] << 8) | body[end + 3]) >>> 0;
  if (crc !== tokenCRC(body.slice(0, end))) return { err: new TokenError('corrupted', MSG.checksum), size };
  if (body.length > end + 4 || dangling) return { err: new TokenError('corrupted', MSG.trailing), size };
  if (r.invalid) return { err: new TokenError('corrupted', MSG.badContents(r.invalid)), size };
  return { t, body, size, err: null };
}

class BodyReader {
  constructor(b) { this.b = b; this.off = 0; this.short = false; this.need = 0; this.invalid = ''; }
  bad(why) { if (!this.invalid) this.invalid = why; }
  next(n) {
    if (this.short) return null;
    if (this.b.length - this.off < n) { this.short = true; this.need = this.off + n; return null; }
    const p = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return p;
  }
  byte1() { const p = this.next(1); return p ? p[0] : 0; }
  bytes8() { const n = this.byte1(); return this.next(n) ?? new Uint8Array(0); }
  ascii8() { return String.fromCharCode(...this.bytes8()); }
  uvarint() {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      const c = this.byte1();
      if (this.short) return 0;
      if (i === 9 && c > 1) {
        if (c & 0x80) { this.bad('a number too long'); return toNumber(v); }
        this.bad('a number too large');
      }
      v |= BigInt(c & 0x7f) << BigInt(7 * i);
      if (c < 0x80) return toNumber(v & 0xffffffffffffffffn);
    }
    return toNumber(v);
  }
  token() {
    const t = { kind: OFFER, role: 'unknown', active: false, symmetricNAT: false, ufrag: '', pwd: '', fingerprint: new Uint8Array(32), rendezvous: null, acks: false, candidates: [], summary: null };
    const flags = this.byte1();
    if (flags & FLAG_RESERVED) this.bad('reserved flag bits set');
    t.kind = flags & FLAG_ANSWER ? ANSWER : OFFER;
    const role = (flags & FLAG_ROLE_MASK) >> 1;
    if (role > 2) this.bad('unknown role');
    t.role = ROLES[role] ?? 'unknown';
    t.active = (flags & FLAG_ACTIVE) !== 0;
    t.symmetricNAT = (flags & FLAG_SYMMETRIC) !== 0;
    if (t.active && t.kind === OFFER) this.bad('an active offer');
    t.ufrag = this.ascii8();
    if (!this.short && !validICEString(t.ufrag, UFRAG_MIN, UFRAG_MAX)) this.bad('bad ICE user name');
    t.pwd = this.ascii8();
    if (!this.short && !validICEString(t.pwd, PWD_MIN, PWD_MAX)) this.bad('bad ICE password');
    const fp = this.next(32);
    if (fp) t.fingerprint = Uint8Array.from(fp);
    if (t.kind === ANSWER) {
      t.acks = (flags & FLAG_ACKS) !== 0;
    } else if (flags & FLAG_RENDEZVOUS) {
      const rv = this.next(RENDEZVOUS_SIZE);
      if (rv) t.rendezvous = Uint8Array.from(rv);
    }
    const n = this.byte1();
    if (n > MAX_CANDIDATES) this.bad('too many addresses');
    for (let i = 0; i < n && !this.short; i++) {
      const c = this.candidate();
      if (c && t.candidates.length < MAX_CANDIDATES) t.candidates.push(c);
    }
    if (flags & FLAG_SUMMARY) {
      const s = { entries: this.uvarint(), total_bytes: this.uvarint(), name: '' };
      const nb = this.bytes8();
      let ok = true;
      try { s.name = utf8Strict.decode(nb); } catch { ok = false; s.name = new TextDecoder().decode(nb); }
      if (!this.short && (nb.length > MAX_SUMMARY_NAME || !ok)) this.bad('bad summary name');
      t.summary = s;
    }
    return t;
  }
  candidate() {
    const desc = this.byte1();
    if (desc & 0xf0) this.bad('reserved address bits set');
    const c = { type: CAND_TYPES[desc & 3], port: 0 };
    switch ((desc >> 2) & 3) {
      case FORM_IPV4: { const p = this.next(4); if (p) c.addr = formatIP(p); break; }
      case FORM_IPV6: { const p = this.next(16); if (p) c.addr = formatIP(p); break; }
      case FORM_MDNS: { const p = this.next(16); if (p) c.host = formatMDNS(p); break; }
      case FORM_NAME: {
        c.host = this.ascii8();
        if (!this.short && !validHostName(c.host)) this.bad('bad host name');
        break;
      }
    }
    const p = this.next(2);
    if (p) c.port = (p[0] << 8) | p[1];
    return this.short ? null : c;
  }
}

function toNumber(v) { return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; }

// jsonTruncated tells JSON that ended early (Go: a SyntaxError at the end of the input) from
// other broken JSON by scanning its structure.
function jsonEndsEarly(s) {
  const stack = [];
  let inStr = false, esc = false, sawValue = false;
  for (const c of s) {
    if (inStr) {
      if (esc) esc = false;
      else if (c === '\\') esc = true;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') { inStr = true; sawValue = true; } else if (c === '{' || c === '[') { stack.push(c); sawValue = true; } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (!/\s/.test(c)) sawValue = true;
  }
  return inStr || stack.length > 0 || !sawValue;
}

function decodePion(s) {
  s = s.replace(/=+$/, '');
  const e = badCharErr(s, (c) => isB64URLChar(c) || c === '+' || c === '/');
  if (e) throw e;
  if (s.length % 4 === 1) throw new TokenError('truncated', MSG.truncated);
  s = s.replaceAll('-', '+').replaceAll('_', '/');
  const raw = new TextDecoder().decode(base64Decode(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'));
  let desc;
  try {
    desc = JSON.parse(raw);
  } catch {
    if (jsonEndsEarly(raw)) throw new TokenError('truncated', MSG.truncated);
    throw new TokenError('corrupted', MSG.badSDP('not a session description'));
  }
  if (desc === null || typeof desc !== 'object' || Array.isArray(desc)) throw new TokenError('corrupted', MSG.badSDP('not a session description'));
  const type = member(desc, 'type'), sdp = member(desc, 'sdp');
  if ((type.found && type.value !== null && typeof type.value !== 'string') || (sdp.found && sdp.value !== null && typeof sdp.value !== 'string')) {
    throw new TokenError('corrupted', MSG.badSDP('not a session description'));
  }
  const kind = type.value === 'offer' ? OFFER : type.value === 'answer' ? ANSWER : null;
  if (!kind) throw new TokenError('corrupted', MSG.badSDP('neither an offer nor an answer'));
  let t;
  try {
    t = fromSDP(kind, sdp.value ?? '');
  } catch {
    throw new TokenError('corrupted', MSG.badSDP('incomplete session description'));
  }
  t.candidates = t.candidates.slice(0, MAX_CANDIDATES);
  return t;
}

// ---------------------------------------------------------------------------------------------
// SDP (§1.7) both ways.

const TYPE_PREF = { host: 126, prflx: 110, srflx: 100, relay: 0 };

export function fingerprintSDP(fp) {
  return Array.from(fp, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

// tokenSDP rebuilds the session description a token stands for.
export function tokenSDP(t) {
  const lines = [
    'v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:0',
    'a=ice-ufrag:' + t.ufrag, 'a=ice-pwd:' + t.pwd, 'a=fingerprint:sha-256 ' + fingerprintSDP(t.fingerprint),
    'a=setup:' + (t.kind === ANSWER ? (t.active ? 'active' : 'passive') : 'actpass'),
    'a=sctp-port:5000', 'a=max-message-size:262144',
  ];
  t.candidates.forEach((c, i) => {
    const prio = ((TYPE_PREF[c.type] << 24) >>> 0) + ((65535 - i) << 8) + 255;
    const extra = c.type !== 'host' ? ' raddr 0.0.0.0 rport 0' : '';
    lines.push(`a=candidate:${i} 1 udp ${prio} ${c.addr ?? c.host} ${c.port} typ ${c.type}${extra}`);
  });
  lines.push('a=end-of-candidates');
  return lines.join('\r\n') + '\r\n';
}

function parseFingerprint(s) {
  if (s.length !== 3 * 32 - 1) throw new Error('reading SDP: no sha-256 fingerprint');
  const fp = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    if (i > 0 && s[3 * i - 1] !== ':') throw new Error('reading SDP: malformed sha-256 fingerprint');
    const h = s.substr(3 * i, 2);
    if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('reading SDP: malformed sha-256 fingerprint');
    fp[i] = parseInt(h, 16);
  }
  return fp;
}

function parseCandidate(v) {
  const f = v.trim().split(/[ \t]+/);
  if (f.length < 8 || f[1] !== '1' || f[2].toLowerCase() !== 'udp' || f[6] !== 'typ') return null;
  if (!CAND_TYPES.includes(f[7])) return null;
  if (!/^[0-9]+$/.test(f[5])) return null;
  const port = Number(f[5]);
  if (port === 0 || port > 65535) return null;
  const c = { type: f[7], port };
  const ip = parseIP(f[4]);
  if (ip) c.addr = formatIP(unmap(ip.bytes));
  else if (validHostName(f[4])) c.host = f[4];
  else return null;
  return c;
}

// fromSDP reads a session description (a browser's or pion's) into a token without role or
// summary, as signal.FromSDP does. It throws Error when ICE credentials or the sha-256
// fingerprint are missing. The result may have more than 16 candidates.
export function fromSDP(kind, sdp) {
  const session = {}, media = {};
  let cur = session, sections = 0;
  const cands = [], seen = new Set();
  for (let ln of sdp.split('\n')) {
    ln = ln.replace(/\r+$/, '');
    if (ln.startsWith('m=')) {
      sections++;
      cur = sections === 1 ? media : null;
      continue;
    }
    if (!ln.startsWith('a=')) continue;
    const body = ln.slice(2), colon = body.indexOf(':');
    if (colon < 0) continue;
    const name = body.slice(0, colon), value = body.slice(colon + 1);
    if (name === 'candidate') {
      const c = parseCandidate(value);
      if (c) {
        const k = `${c.addr ?? ''}|${c.host ?? ''}|${c.port}`;
        if (!seen.has(k)) { seen.add(k); cands.push(c); }
      }
      continue;
    }
    if (!cur) continue;
    const set = (key, v) => { if (!cur[key]) cur[key] = v.trim(); };
    if (name === 'ice-ufrag') set('ufrag', value);
    else if (name === 'ice-pwd') set('pwd', value);
    else if (name === 'setup') set('setup', value);
    else if (name === 'fingerprint') {
      const parts = value.trim();
      const sp = parts.indexOf(' ');
      const hash = sp >= 0 ? parts.slice(0, sp) : parts;
      if (hash.toLowerCase() === 'sha-256') set('fingerprint', sp >= 0 ? parts.slice(sp + 1) : '');
    }
  }
  const pick = (k) => media[k] || session[k] || '';
  const t = { kind, role: 'unknown', active: false, symmetricNAT: false, ufrag: pick('ufrag'), pwd: pick('pwd'), fingerprint: null, candidates: cands, summary: null };
  if (!validICEString(t.ufrag, UFRAG_MIN, UFRAG_MAX)) throw new Error(`reading SDP: ICE ufrag ${JSON.stringify(t.ufrag)} is missing or not 4..32 ice-chars`);
  if (!validICEString(t.pwd, PWD_MIN, PWD_MAX)) throw new Error('reading SDP: ICE pwd is missing or not 22..64 ice-chars');
  t.fingerprint = parseFingerprint(pick('fingerprint'));
  if (kind === ANSWER) t.active = pick('setup').toLowerCase() === 'active';
  return t;
}

// ---------------------------------------------------------------------------------------------
// Application checks (§1.2) and the verification code (§1.8).

function usable(c) {
  if (c.port === 0) return false;
  if (!c.addr) return !!c.host;
  const ip = parseIP(c.addr);
  if (!ip) return false;
  const a = unmap(ip.bytes);
  if (a.every((x) => x === 0)) return false;
  if (a.length === 4) return !(a[0] >= 224 && a[0] <= 239) && !a.every((x) => x === 255);
  return a[0] !== 0xff;
}

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// checkToken makes the application checks in Go's order; myFingerprint may be null.
export function checkToken(t, want, myRole, myFingerprint) {
  if (myFingerprint && myFingerprint.some((x) => x !== 0) && sameBytes(t.fingerprint, myFingerprint)) {
    throw new TokenError('own-token', MSG.ownToken);
  }
  if (t.kind !== want) throw new TokenError('wrong-kind', t.kind === ANSWER ? MSG.answerNotOffer : MSG.offerNotAnswer);
  if (t.role !== 'unknown' && t.role === myRole) {
    throw new TokenError('same-role', t.role === 'sender' ? MSG.bothSend : MSG.bothReceive);
  }
  if (!t.candidates.some(usable)) throw new TokenError('no-candidates', MSG.noCandidates);
}

export function verificationCode(a, b) {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) { if (a[i] > b[i]) [a, b] = [b, a]; break; }
  }
  const h = sha256.create();
  h.update(enc.encode('p2pcopy-verify-v1'));
  h.update(a);
  h.update(b);
  const d = h.digest();
  const n = (((d[0] << 24) >>> 0) + (d[1] << 16) + (d[2] << 8) + d[3]) % 1000000;
  const p = String(n).padStart(6, '0');
  return p.slice(0, 3) + '-' + p.slice(3);
}

export { hex as toHex };

// trimCandidates keeps at most max candidates as the Go code does (PROTOCOL.md §1.4): up to half
// of max that cross NATs (srflx, prflx, relay), then host candidates, then any left, all in the
// order they were gathered.
export function trimCandidates(cs, max = MAX_CANDIDATES) {
  if (cs.length <= max) return cs;
  const keep = new Array(cs.length).fill(false);
  let n = 0;
  cs.forEach((c, i) => { if (c.type !== 'host' && n < Math.floor(max / 2)) { keep[i] = true; n++; } });
  cs.forEach((c, i) => { if (c.type === 'host' && n < max) { keep[i] = true; n++; } });
  cs.forEach((_, i) => { if (!keep[i] && n < max) { keep[i] = true; n++; } });
  return cs.filter((_, i) => keep[i]);
}
