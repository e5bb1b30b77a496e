// Tests the page's reading of pasted text (web/js/paste.js) beyond the shared vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeToken, encodeToken, TokenError } from '../js/token.js';
import { capPaste, unwrapPaste } from '../js/paste.js';

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../signal/testdata/tokens.json', import.meta.url)), 'utf8'));
const tok = vectors.valid[1].token;

test('only the first 64 KiB of a paste are read, quickly', () => {
  const filler = 'lorem ipsum p2pc1. dolor sit amet p2pc1.AAAA '.repeat(233016); // about 10 MiB
  const start = performance.now();
  assert.equal(encodeToken(decodeToken(tok + ' ' + filler)), tok);
  assert.throws(() => decodeToken('x'.repeat(65536) + ' ' + tok), (e) => e instanceof TokenError && e.kind === 'not-a-token');
  assert.throws(() => decodeToken(filler), TokenError);
  const ms = performance.now() - start;
  assert.ok(ms < 2000, `${ms} ms`);
});

test('capPaste cuts at a character boundary of the UTF-8 text', () => {
  assert.equal(capPaste('x'.repeat(65535) + '€'), 'x'.repeat(65535));
  assert.equal(capPaste('x'.repeat(65533) + '€'), 'x'.repeat(65533) + '€');
  assert.equal(capPaste('é'.repeat(40000)).length, 32768);
  assert.equal(capPaste('😀'.repeat(20000)), '😀'.repeat(16384));
});

test('unwrapping mail encodings leaves every bare token alone', () => {
  for (const v of vectors.valid) {
    assert.equal(unwrapPaste(v.token), v.token, v.name);
    for (const wrap of ['[12:03] Alice: %s', '%s.', '(%s)', '> %s\n', '“%s”', '_%s_', '<https://p2pcopy.example/#%s>']) {
      const input = wrap.replace('%s', v.token);
      assert.equal(encodeToken(decodeToken(input)), v.token, input);
    }
  }
});
