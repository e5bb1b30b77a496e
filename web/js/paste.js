// Reading a pasted token (docs/PROTOCOL.md §1.2): what chat and mail programs do to a line of text.
// A port of signal/paste.go.

const QUOTES = new Set(['"', "'", '`', '“', '”', '‘', '’', '«', '»', '<', '>']);

function stripPaste(s) {
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
