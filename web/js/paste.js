// Reading a pasted token (docs/PROTOCOL.md §1.2): what chat and mail programs do to a line of text.
// A port of signal/paste.go.

const QUOTES = new Set(['"', "'", '`', '“', '”', '‘', '’', '«', '»', '<', '>']);

export function stripPaste(s) {
  s = s.replace(/[\p{White_Space}\p{Cf}>]/gu, '');
  const chars = Array.from(s);
  let i = 0, j = chars.length;
  while (i < j && QUOTES.has(chars[i])) i++;
  while (j > i && QUOTES.has(chars[j - 1])) j--;
  return chars.slice(i, j).join('');
}

// cleanPaste applies steps 1 and 2 of §1.2 (a JSON event line is returned whole).
export function cleanPaste(s) {
  const c = stripPaste(s);
  if (c.startsWith('{')) return c;
  const i = s.lastIndexOf('#');
  if (i >= 0) s = s.slice(i + 1);
  return stripPaste(s);
}

// member looks a key up as Go's encoding/json does: exact match first, else case-insensitive.
export function member(obj, key) {
  if (Object.hasOwn(obj, key)) return { found: true, value: obj[key] };
  for (const k of Object.keys(obj)) if (k.toLowerCase() === key) return { found: true, value: obj[k] };
  return { found: false };
}

// tokenFromJSON applies step 3 of §1.2 to a text that starts with '{'.
export function tokenFromJSON(s) {
  let obj;
  try { obj = JSON.parse(s); } catch { obj = undefined; }
  if (obj !== undefined && obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    const m = member(obj, 'token');
    if (!m.found || m.value === null) return s;
    if (typeof m.value === 'string') return cleanPaste(m.value);
    // a token that is not a string: Go's decoder fails and falls through to the scan below
  }
  const key = '"token":"';
  const i = s.indexOf(key);
  if (i < 0) return s;
  let rest = s.slice(i + key.length);
  const j = rest.search(/["\\]/);
  if (j >= 0) {
    if (rest[j] === '\\') return s;
    rest = rest.slice(0, j);
  }
  return cleanPaste(rest);
}

// Limits of the work decodeToken does on one paste (as in signal/paste.go).
const MAX_PASTE_BYTES = 64 * 1024, MAX_TOKEN_CHARS = 8192, MIN_CASE_CHECK = 16;

// capPaste keeps the first 64 KiB of s's UTF-8 encoding, cut at a character boundary.
export function capPaste(s) {
  if (s.length * 3 <= MAX_PASTE_BYTES) return s;
  let bytes = 0;
  for (let i = 0; i < s.length;) {
    const cp = s.codePointAt(i);
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > MAX_PASTE_BYTES) return s.slice(0, i);
    bytes += n;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return s;
}

const NAMED = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', shy: '\u00ad' };

function htmlChar(m, name) {
  if (Object.hasOwn(NAMED, name)) return NAMED[name];
  const v = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
  if (v === 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return m;
  return String.fromCodePoint(v);
}

// unwrapPaste undoes quoted-printable soft line breaks and =3D, HTML character references,
// Proofpoint URL Defense v2's u= encoding and ASCII percent-escapes (up to three rounds).
export function unwrapPaste(s) {
  s = s.replace(/=\r\n|=\n|=3D/g, (m) => (m === '=3D' ? '=' : ''));
  s = s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp|shy);/g, htmlChar);
  s = s.replace(/urldefense(?:\.proofpoint)?\.com\/v2\/url\?u=[A-Za-z0-9._~-]+/g, (m) => {
    const i = m.indexOf('?u=') + 3;
    return m.slice(0, i) + m.slice(i).replace(/[-_]/g, (c) => (c === '-' ? '%' : '/'));
  });
  for (let round = 0; round < 3; round++) {
    const d = s.replace(/%([0-7][0-9A-Fa-f])/g, (m, h) => String.fromCharCode(parseInt(h, 16)));
    if (d === s) break;
    s = d;
  }
  return s;
}

const GAP = /^[\p{White_Space}\p{Cf}>]$/u;
const isB64 = (code) => (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45 || code === 95;
const isDigit = (code) => code >= 48 && code <= 57;

// findCandidates finds every token prefix "p2pc<digits>." in s, gaps (whitespace, format
// characters, '>') allowed anywhere, and returns for each {version, chars, brk}: the token
// characters that follow it across gaps and brk[i], whether a gap stood before chars[i].
export function findCandidates(s) {
  const codes = [], gaps = [];
  let gap = false;
  for (const ch of s) {
    if (GAP.test(ch)) { gap = true; continue; }
    const cp = ch.codePointAt(0);
    codes.push(cp < 0x80 ? cp : 0);
    gaps.push(gap);
    gap = false;
  }
  gaps.push(gap);
  const c = codes.map((x) => String.fromCharCode(x)).join('');
  const out = [];
  for (let i = 0; ;) {
    const p = c.indexOf('p2pc', i);
    if (p < 0) return out;
    let k = p + 4;
    while (k < c.length && isDigit(codes[k])) k++;
    if (k === p + 4 || k === c.length || c[k] !== '.') { i = p + 1; continue; }
    const start = k + 1;
    let end = start;
    while (end < c.length && end - start < MAX_TOKEN_CHARS && isB64(codes[end])) end++;
    if (end < c.length && c[end] === '.') end = start + gluedPrefix(c.slice(start, end));
    out.push({ version: c.slice(p + 4, k), chars: c.slice(start, end), brk: gaps.slice(start, end + 1) });
    i = end;
  }
}

// gluedPrefix returns where the next token's "p2pc<digits>" starts at the end of chars.
function gluedPrefix(chars) {
  let d = chars.length;
  while (d > 0 && isDigit(chars.charCodeAt(d - 1))) d--;
  if (d < chars.length && chars.slice(0, d).endsWith('p2pc')) return d - 4;
  return chars.length;
}

// tokenEndsAt tells whether a token may end after chars.slice(0, n): a gap follows, or only '-'
// and '_' up to the next gap.
export function tokenEndsAt(chars, n, brk) {
  for (let i = n; i < chars.length; i++) {
    if (brk[i]) return true;
    if (chars[i] !== '-' && chars[i] !== '_') return false;
  }
  return true;
}

// caseWasChanged tells whether a refused payload looks like a token whose capital letters became
// small ones: long enough, only token characters, no capital letter, a small letter first (a real
// token starts with A..P, or with Q..Z or a..f when flags bit 6 is set (an offer's rendezvous secret, an answer's "reads acknowledgements")).
export function caseWasChanged(payload) {
  return payload.length >= MIN_CASE_CHECK && /^[a-z][a-z0-9_-]*$/.test(payload);
}

// linkProtected tells whether text holds a link rewritten by Mimecast URL Protect, which hides
// the original link and its token.
export function linkProtected(text) {
  return text.includes('mimecast.com/s/') || text.includes('mimecastprotect.com/s/');
}
