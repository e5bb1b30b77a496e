// The vendored QR encoder gives a square, quiet-zoned matrix for a link of typical length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qrMatrix } from '../js/qr.js';

test('a link with a token fits a QR code', () => {
  const link = 'http://192.168.1.23:41234/#p2pc1.EgRBYjMrFnE3SGsyK1B6OS9MbTRSdDhXeDFOczCsUWlJ5UZK0dNo4_MaOHc4luoJf7v6s77QC-POwyzVDQMAwKgBF8NQAcsAcQfvMgAKCAACw1EB0sWKmkAHdm0udm1kawevqFc&k=q9J3vXw0Tn8Yk2LmRc5aBw';
  const m = qrMatrix(link);
  assert.ok(m.length >= 21 + 8 && m.length <= 73 + 8, `size ${m.length}`);
  for (const row of m) assert.equal(row.length, m.length);
  // Quiet zone: the border rows are light; the finder pattern's corner is dark.
  assert.ok(m[0].every((v) => !v));
  assert.equal(m[4][4], true);
});
