// Decoding a pasted token (PROTOCOL.md §1.2) in the steps of signal.Decode (signal/paste.go).

import { capPaste, stripPaste, cleanPaste, tokenFromJSON, unwrapPaste, findCandidates, tokenEndsAt, caseWasChanged, linkProtected } from './paste.js';
import { MSG, TokenError } from './token-core.js';
import { splitVersion, readBinary } from './token-codec.js';
import { decodePion } from './token-sdp.js';

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
