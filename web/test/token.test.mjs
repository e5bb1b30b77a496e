// Tests the JS token codec against the golden vectors the Go code is tested with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeToken, encodeToken, tokenSDP, checkToken, verificationCode, fromHex, toHex, fromSDP, TokenError, trimCandidates } from '../js/token.js';

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../signal/testdata/tokens.json', import.meta.url)), 'utf8'));
const pastes = JSON.parse(readFileSync(fileURLToPath(new URL('../../signal/testdata/pastes.json', import.meta.url)), 'utf8'));

// fields gives a decoded token in the vectors' JSON form.
function fields(t) {
  return {
    kind: t.kind, role: t.role, active: t.active, symmetric_nat: t.symmetricNAT, ufrag: t.ufrag, pwd: t.pwd, fingerprint: toHex(t.fingerprint),
    ...(t.rendezvous ? { rendezvous: toHex(t.rendezvous) } : {}),
    ...(t.acks ? { acks: true } : {}),
    candidates: t.candidates.map((c) => (c.addr ? { type: c.type, addr: c.addr, port: c.port } : { type: c.type, host: c.host, port: c.port })),
    summary: t.summary,
  };
}
function fromFields(f) {
  return { ...f, symmetricNAT: f.symmetric_nat, fingerprint: fromHex(f.fingerprint), rendezvous: f.rendezvous ? fromHex(f.rendezvous) : null, candidates: f.candidates.map((c) => ({ ...c })) };
}

test('valid vectors decode, encode and rebuild the SDP', () => {
  assert.ok(vectors.valid.length > 0);
  for (const v of vectors.valid) {
    const t = decodeToken(v.token);
    assert.deepEqual(fields(t), v.fields, v.name);
    assert.equal(encodeToken(fromFields(v.fields)), v.token, v.name);
    assert.equal(tokenSDP(t), v.sdp, v.name);
  }
});

test('invalid vectors fail with the Go error kind and message', () => {
  const kinds = new Set();
  for (const v of vectors.invalid) {
    assert.throws(() => decodeToken(v.input), (e) => {
      assert.ok(e instanceof TokenError, `${v.name}: ${e}`);
      assert.equal(e.kind, v.error, v.name);
      assert.equal(e.message, v.message, v.name);
      return true;
    }, v.name);
    kinds.add(v.error);
  }
  for (const k of ['empty', 'not-a-token', 'version', 'truncated', 'corrupted']) assert.ok(kinds.has(k), k);
});

test('forgiving vectors read as their canonical token', () => {
  for (const v of vectors.forgiving) {
    assert.deepEqual(fields(decodeToken(v.input)), fields(decodeToken(v.token)), v.name);
  }
});

test('paste vectors: a token anywhere inside chat and mail text, or the Go error kind and message', () => {
  assert.ok(pastes.pastes.length > 0);
  const failed = [];
  for (const v of pastes.pastes) {
    try {
      if (v.token) {
        assert.deepEqual(fields(decodeToken(v.input)), fields(decodeToken(v.token)), v.name);
      } else {
        assert.throws(() => decodeToken(v.input), (e) => {
          assert.ok(e instanceof TokenError, `${v.name}: ${e}`);
          assert.equal(e.kind, v.error, v.name);
          assert.equal(e.message, v.message, v.name);
          return true;
        }, v.name);
      }
    } catch (e) {
      failed.push(`${v.name}: ${e.message.split('\n')[0]}`);
    }
  }
  assert.deepEqual(failed, [], `${failed.length} of ${pastes.pastes.length} paste vectors fail`);
});

test('application checks', () => {
  for (const v of vectors.checks) {
    const t = decodeToken(v.token);
    const run = () => checkToken(t, v.want, v.my_role, fromHex(v.my_fingerprint));
    if (!v.error) {
      assert.doesNotThrow(run, v.name);
      continue;
    }
    assert.throws(run, (e) => e.kind === v.error && e.message === v.message, v.name);
  }
});

test('verification codes', () => {
  for (const v of vectors.verification) {
    assert.equal(verificationCode(fromHex(v.a), fromHex(v.b)), v.code);
    assert.equal(verificationCode(fromHex(v.b), fromHex(v.a)), v.code);
  }
});

test('a Chromium answer SDP reads into an answer token', () => {
  const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n' +
    'a=candidate:1 1 udp 2113937151 1f0c6a2e-4b5d-4e8f-9a7b-3c2d1e0f5a6b.local 53703 typ host generation 0 network-cost 999\r\n' +
    'a=candidate:2 1 tcp 2113937151 10.0.0.1 9 typ host tcptype active\r\n' +
    'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n' +
    'a=fingerprint:sha-256 AC:51:69:49:E5:46:4A:D1:D3:68:E3:F3:1A:38:77:38:96:EA:09:7F:BB:FA:B3:BE:D0:0B:E3:CE:C3:2C:D5:0D\r\na=setup:active\r\na=mid:0\r\n';
  const t = fromSDP('answer', sdp);
  assert.equal(t.active, true);
  assert.deepEqual(t.candidates, [{ type: 'host', host: '1f0c6a2e-4b5d-4e8f-9a7b-3c2d1e0f5a6b.local', port: 53703 }]);
  t.role = 'receiver';
  assert.deepEqual(fields(decodeToken(encodeToken(t))), fields(t));
});

test('at most 16 candidates, chosen and ordered as the Go code does', () => {
  const cands = (kinds) => Array.from(kinds, (k, i) => ({ type: { h: 'host', s: 'srflx', r: 'relay' }[k], addr: `10.0.0.${i}`, port: 1 }));
  const show = (cs) => cs.map((c) => c.type[0] + c.addr.split('.')[3]).join(' ');
  for (const [kinds, want] of [
    ['hhs', 'h0 h1 s2'],
    ['hhhhhhhhhhhhhhhhhhhhss', 'h0 h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11 h12 h13 s20 s21'],
    ['sssssssssshhhhhhhhhhhh', 's0 s1 s2 s3 s4 s5 s6 s7 h10 h11 h12 h13 h14 h15 h16 h17'],
    ['ssssssssssssssssssshhr', 's0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 h19 h20'],
    ['rhhhhhhhhhhhhhhhhhhhhh', 'r0 h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11 h12 h13 h14 h15'],
  ]) assert.equal(show(trimCandidates(cands(kinds))), want, kinds);
});

test('a CLI offer with a rendezvous secret decodes in the page, which ignores the secret', () => {
  const byName = Object.fromEntries(vectors.valid.map((v) => [v.name, v]));
  const plain = byName['offer-sender-3-ipv4-summary'];
  const rv = byName['offer-sender-3-ipv4-summary-rendezvous'];
  assert.ok(plain && rv, 'the vectors name both offers');
  const t = decodeToken(rv.token);
  assert.equal(toHex(t.rendezvous), '000102030405060708090a0b0c0d0e0f');
  // The same session as the offer without a secret: the page answers it the same way.
  assert.equal(tokenSDP(t), plain.sdp);
  assert.deepEqual({ ...fields(t), rendezvous: undefined }, { ...fields(decodeToken(plain.token)), rendezvous: undefined });
  // Lowercased by a phone, it is still recognized as case damage (its first letter is U, not A..P).
  assert.throws(() => decodeToken(rv.token.toLowerCase()), (e) => e.kind === 'corrupted' && /capital letters/.test(e.message));
});

test('the page never writes a rendezvous secret in its own tokens', () => {
  const t = decodeToken(vectors.valid.find((v) => v.name === 'offer-sender-3-ipv4-summary-rendezvous').token);
  // What the page sends is made from its own SDP (fromSDP), which has no secret.
  const own = fromSDP('offer', tokenSDP(t));
  own.role = 'receiver';
  const text = encodeToken(own);
  assert.equal(decodeToken(text).rendezvous, null);
  assert.equal(text[6], 'B', 'flags 0x04 (receiver, bit 6 clear) start the text with B');
});

test('a CLI answer that reads acknowledgements decodes in the page, which ignores the bit', () => {
  const v = vectors.valid.find((x) => x.name === 'answer-receiver-active-acks');
  assert.ok(v, 'the vectors hold an answer with flags bit 6');
  const t = decodeToken(v.token);
  assert.equal(t.acks, true);
  assert.equal(t.rendezvous, null, 'bit 6 of an answer carries no secret');
  // No bytes follow the bit: without it, the same answer is the same size and the same session.
  const plain = encodeToken({ ...t, acks: false });
  assert.equal(plain.length, v.token.length);
  assert.equal(decodeToken(plain).acks, false);
  assert.equal(tokenSDP(decodeToken(plain)), tokenSDP(t));
  assert.throws(() => encodeToken({ ...decodeToken(vectors.valid[0].token), acks: true }), /only an answer/);
});

test("the page's own answers never say they read acknowledgements", () => {
  // A CLI offer with a rendezvous secret: the page answers it from its own SDP (fromSDP), as app.js does.
  const offer = decodeToken(vectors.valid.find((v) => v.name === 'offer-sender-3-ipv4-summary-rendezvous').token);
  const answerSDP = tokenSDP(decodeToken(vectors.valid.find((v) => v.name === 'answer-receiver-active-acks').token));
  for (const [kind, sdp] of [['answer', answerSDP], ['offer', tokenSDP(offer)]]) {
    const own = fromSDP(kind, sdp);
    own.role = 'receiver';
    assert.ok(!own.acks, `fromSDP(${kind}) sets no acks`);
    const text = encodeToken(own);
    const back = decodeToken(text);
    assert.equal(back.acks, false, kind);
    assert.equal(back.rendezvous, null, kind);
    // The flags byte, the payload's first byte: bit 6 is clear.
    const flags = Buffer.from(text.slice(6, 8) + '==', 'base64url')[0];
    assert.equal(flags & 0x40, 0, `${kind} flags ${flags.toString(16)}`);
  }
});
