// Names from a peer as the page shows them: the same cases as the CLI's TestDisplayName
// (cmd/p2pcopy/ui_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayName, offeredText } from '../js/display.js';

const cases = [
  ['vm.vmdk', 'vm.vmdk'],
  ['héllo wörld 日本 Ελλάδα.txt', 'héllo wörld 日本 Ελλάδα.txt'],
  ['שלום.txt', 'שלום.txt'], // right-to-left letters draw right to left by themselves
  ['invoice\u202etxt.exe', 'invoice<U+202E>txt.exe'], // right-to-left override: would read "invoiceexe.txt"
  ['\u202a\u202b\u202c\u202d', '<U+202A><U+202B><U+202C><U+202D>'],
  ['a\u200eb\u200fc\u061cd', 'a<U+200E>b<U+200F>c<U+061C>d'], // marks
  ['\u2066x\u2067y\u2068z\u2069', '<U+2066>x<U+2067>y<U+2068>z<U+2069>'], // isolates
  ['re\u200bport.pdf', 're<U+200B>port.pdf'], // zero-width space
  ['\ufeffname', '<U+FEFF>name'], // byte order mark
  ['soft\u00adhyphen', 'soft<U+00AD>hyphen'],
  ['a\u2060b\u2064c', 'a<U+2060>b<U+2064>c'], // word joiner, invisible plus
  ['tag\u{E0041}\u{E007F}', 'tag<U+E0041><U+E007F>'], // tag characters
  ['evil\x1b[2Jname', 'evil<U+001B>[2Jname'], // terminal escape
  ['a\nb\tc\rd\x00e\x7f', 'a<U+000A>b<U+0009>c<U+000D>d<U+0000>e<U+007F>'],
  ['c1\u009b31m', 'c1<U+009B>31m'],
  ['line\u2028para\u2029', 'line<U+2028>para<U+2029>'],
  ['lone\ud800surrogate\udfff', 'lone<U+D800>surrogate<U+DFFF>'], // the page's counterpart of bytes that are not UTF-8
  ['نامه\u200cها.pdf', 'نامه\u200cها.pdf'], // zero-width non-joiner: Persian needs it
  ['👨\u200d👩\u200d👧.jpg', '👨\u200d👩\u200d👧.jpg'], // zero-width joiner: one emoji
  ['❤\ufe0f.png', '❤\ufe0f.png'], // variation selector: not a format character
  ['', ''],
];

test('hidden characters in names are shown by their code', () => {
  for (const [input, want] of cases) {
    assert.equal(displayName(input), want, JSON.stringify(input));
  }
});

test('the offer shows a hostile name by its codes', () => {
  assert.equal(offeredText({ entries: 1, total_bytes: 2000, name: 'invoice\u202etxt.exe' }), 'invoice<U+202E>txt.exe (2.0 kB)');
  assert.equal(offeredText({ entries: 2, total_bytes: 1000, name: 'evil\x1b[2Jname' }), '2 items: evil<U+001B>[2Jname and more (1.0 kB)');
  assert.equal(offeredText(null), 'files (no summary in the token)');
});

test('failures are said in plain words, never by a browser\'s exception name', async () => {
  const { plainError } = await import('../js/display.js');
  const { TransferError } = await import('../js/protocol.js');
  const internal = /\b(opfs|AbortError|NotAllowedError|SecurityError|QuotaExceededError|DOMException|SDP|ICE|DTLS|SCTP)\b/i;
  const dom = (name) => Object.assign(new Error(`Failed to execute 'x': ${name} happened`), { name });
  for (const e of [dom('AbortError'), dom('QuotaExceededError'), dom('NotAllowedError'), dom('SecurityError'), dom('NoModificationAllowedError'), dom('WeirdNewError'), new TypeError('dc.send is not a function'), 'a string', null]) {
    const m = plainError(e);
    assert.ok(m.length > 20, m);
    assert.doesNotMatch(m, internal, String(e?.name));
    assert.doesNotMatch(m, /Failed to execute|is not a function/, String(e?.name));
  }
  assert.match(plainError(dom('QuotaExceededError')), /no room left/);
  assert.equal(plainError(new TransferError('verify', 'x arrived damaged')), 'x arrived damaged');
  const tok = Object.assign(new Error('bad token: truncated'), { name: 'TokenError' });
  assert.equal(plainError(tok), 'bad token: truncated');
});
