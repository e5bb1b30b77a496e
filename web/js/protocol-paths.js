// Paths a receiver refuses (PROTOCOL.md §2.4) and byte counts as people read them: transfer/paths.go, format.go.

const te = new TextEncoder();

export function isControl(cp) { return cp < 0x20 || (cp >= 0x7f && cp < 0xa0); }
// Format characters (Cf) and line/paragraph separators show as nothing; ZWNJ and ZWJ stay
// allowed (Persian and Indic names, emoji sequences need them), as in Go.
function isInvisible(cp) {
  if (cp === 0x200c || cp === 0x200d) return false;
  return /\p{Cf}/u.test(String.fromCodePoint(cp)) || cp === 0x2028 || cp === 0x2029;
}
export function isBidi(cp) { return cp === 0x200e || cp === 0x200f || cp === 0x061c || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069); }
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
