// The binary body and text form of a token, both ways (PROTOCOL.md §1.1, §1.3–§1.5): signal/token_codec.go.

import { TOKEN_PREFIX, OFFER, ANSWER, ROLES, CAND_TYPES, UFRAG_MIN, UFRAG_MAX, PWD_MIN, PWD_MAX, MAX_CANDIDATES, MAX_SUMMARY_NAME, MSG, TokenError, validICEString, validHostName, parseIP, formatIP, mdnsUUID, formatMDNS, summaryNameBytes } from './token-core.js';

const FLAG_ANSWER = 1, FLAG_ROLE_MASK = 3 << 1, FLAG_ACTIVE = 1 << 3, FLAG_SUMMARY = 1 << 4, FLAG_SYMMETRIC = 1 << 5, FLAG_RENDEZVOUS = 1 << 6, FLAG_ACKS = 1 << 6, FLAG_RESERVED = 1 << 7;
// The rendezvous secret of an offer (flags bit 6, §1.3). The page reads it (a CLI's offer may carry
// one) but has no use for it: it can send neither raw UDP nor to the DHT (§4), so it never writes one.
// In an answer the same bit (no bytes follow) says its author, a p2pcopy CLI, reads acknowledgements
// (§4.4): the page decodes it as `acks` and ignores it, and its own answers (fromSDP) never set it,
// so that a CLI never sends the page anything but standard WebRTC.
const RENDEZVOUS_SIZE = 16;
const FORM_IPV4 = 0, FORM_IPV6 = 1, FORM_MDNS = 2, FORM_NAME = 3;

const enc = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

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
export function base64Decode(s, alphabet) {
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

export function splitVersion(s) {
  const m = /^p2pc([0-9]+)\./.exec(s);
  if (!m) return null;
  return { version: m[1], rest: s.slice(m[0].length) };
}

export const isB64URLChar = (c) => /^[A-Za-z0-9_-]$/.test(c);

function quoteChar(c) {
  if (/^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u.test(c)) return `the character '${c}'`;
  const cp = c.codePointAt(0);
  if (cp >= 0xd800 && cp <= 0xdfff) return 'an invalid character';
  return `the invisible character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

export function badCharErr(payload, ok) {
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

// readBinary decodes the payload of a "p2pc1." token into {t, body, size, err}: body (fields and
// checksum) with the token; size, whenever the fields are complete, the number of payload
// characters they and the checksum take, also when the token is refused (err).
export function readBinary(payload) {
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
