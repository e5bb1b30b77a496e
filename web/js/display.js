// How names from a peer are shown on the page: the same rule as the CLI's displayName
// (cmd/p2pcopy/ui.go). textContent keeps markup out, but a right-to-left override still
// redraws the text around it: "invoice\u202etxt.exe" reads as "invoiceexe.txt". So characters
// that are invisible or change how text is drawn appear as their code, "<U+202E>": control
// characters (C0, DEL, C1), format characters (Unicode category Cf: the bidirectional marks,
// embeddings, overrides and isolates, zero-width space, byte order mark, soft hyphen, tag
// characters...), the line and paragraph separators and lone surrogates. The zero-width
// non-joiner and joiner (U+200C, U+200D) stay: Persian and Indic names and emoji sequences need
// them, and they can neither reorder nor hide anything.

import { formatBytes, TransferError } from './protocol.js';

const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/gu;

function code(c) {
  if (c === '\u200c' || c === '\u200d') return c;
  return `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}>`;
}

// displayName returns s with every hidden character written as <U+XXXX>.
export function displayName(s) {
  return String(s).replace(HIDDEN, code);
}

// offeredText describes a peer's summary: "vm.vmdk (17.2 GB)" or "3 items: photos and more (1.2 GB)".
export function offeredText(s) {
  if (!s) return 'files (no summary in the token)';
  const name = displayName(s.name);
  const size = s.total_bytes > 0 ? ` (${formatBytes(Number(s.total_bytes))})` : '';
  if (s.entries <= 1) return name + size;
  return `${s.entries} items: ${name} and more${size}`;
}

// What a browser's own failures (DOM exceptions, by name) mean for the person using the page,
// and what to do. Their names and the browser's message never reach the screen.
const BROWSER_FAILURES = {
  QuotaExceededError: 'this device has no room left for the file; free up space and try again',
  NoModificationAllowedError: 'the file is being received in another tab of this browser; close that tab and try again',
  InvalidModificationError: 'the file is being received in another tab of this browser; close that tab and try again',
  NotAllowedError: 'the browser did not allow it; allow it when the browser asks, then try again',
  SecurityError: 'the browser does not allow this here (a private window?); open the link in a normal window',
  NotFoundError: "a file the page was saving is gone (was this site's data cleared?); start the copy again",
  NotReadableError: 'the browser could not read a file; pick it again and try again',
  AbortError: 'it was stopped before it finished; try again',
};

// plainError turns any failure into a sentence for the user: the page's own errors (a token
// error, a transfer error) as they are, a browser's by what it means.
export function plainError(err) {
  if (err instanceof TransferError || err?.name === 'TokenError') return err.message;
  if (err && typeof err === 'object' && BROWSER_FAILURES[err.name]) return BROWSER_FAILURES[err.name];
  if (err && err.plain) return err.message; // the page's own words
  return 'something went wrong in this browser; reload the page and try again, or use another browser';
}
