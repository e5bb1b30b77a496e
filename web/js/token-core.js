// Tokens' kinds, limits, error messages and application checks (PROTOCOL.md §1): signal/token.go.

import { sha256 } from '../vendor/noble-hashes/sha2.js';

export const TOKEN_PREFIX = 'p2pc1.';
export const OFFER = 'offer';
export const ANSWER = 'answer';
export const ROLES = ['unknown', 'sender', 'receiver'];
export const CAND_TYPES = ['host', 'srflx', 'prflx', 'relay'];

export const UFRAG_MIN = 4, UFRAG_MAX = 32, PWD_MIN = 22, PWD_MAX = 64, MAX_CANDIDATES = 16, MAX_SUMMARY_NAME = 40;

// Every message a person can see about a token, verbatim as in signal/token_errors.go.
export const MSG = {
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

// ---------------------------------------------------------------------------------------------
// Small helpers: ICE strings, host names, IP addresses as Go's net/netip reads and prints them.

const isICEChar = (c) => /[A-Za-z0-9+/]/.test(c);
export function validICEString(s, min, max) {
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

export function validHostName(s) {
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

export function mdnsUUID(s) {
  if (s.length !== 36 + 6 || !s.endsWith('.local')) return null;
  const u = s.slice(0, 36);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(u)) return null;
  return fromHex(u.replaceAll('-', ''));
}
export function formatMDNS(u) {
  const h = hex(u);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}.local`;
}

// summaryName cuts a display name to 40 bytes of UTF-8 at a character boundary.
export function summaryNameBytes(s) {
  let b = enc.encode(s);
  if (b.length <= MAX_SUMMARY_NAME) return b;
  let n = MAX_SUMMARY_NAME;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
  return b.slice(0, n);
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
