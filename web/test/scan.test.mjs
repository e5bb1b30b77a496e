// Scan-and-go (docs/PROTOCOL.md §3): the answer's MAC, against the vector the Go test checks too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { answerMAC } from '../js/scan.js';

const v = JSON.parse(readFileSync(fileURLToPath(new URL('../testdata/scan-and-go.json', import.meta.url)), 'utf8'));

test('answer MAC vector', () => {
  assert.equal(answerMAC(v.secret, v.answer), v.mac);
  assert.notEqual(answerMAC(v.secret + 'x', v.answer), v.mac);
});

test('link fragments carry the token, the secret and the return origin', () => {
  const frag = new URL(v.link_hosted).hash.slice(1).split('&');
  assert.equal(frag[0], v.offer);
  const kv = new Map(frag.slice(1).map((p) => [p.slice(0, p.indexOf('=')), decodeURIComponent(p.slice(p.indexOf('=') + 1))]));
  assert.equal(kv.get('k'), v.secret);
  assert.equal(kv.get('r'), v.return_origin);
});
