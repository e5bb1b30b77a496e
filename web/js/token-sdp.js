// Tokens to and from SDP, and pion's example form (PROTOCOL.md §1.6, §1.7): signal/token_sdp.go.

import { member } from './paste.js';
import { OFFER, ANSWER, CAND_TYPES, UFRAG_MIN, UFRAG_MAX, PWD_MIN, PWD_MAX, MAX_CANDIDATES, MSG, TokenError, validICEString, validHostName, parseIP, formatIP, unmap } from './token-core.js';
import { badCharErr, isB64URLChar, base64Decode } from './token-codec.js';

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

export function decodePion(s) {
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
