// Tests the page's saving rules that can run without a browser, with a stand-in for the File
// System Access API's directory handles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickerSaver } from '../js/save.js';

class NotFound extends Error { constructor() { super('not found'); this.name = 'NotFoundError'; } }
class Mismatch extends Error { constructor() { super('mismatch'); this.name = 'TypeMismatchError'; } }

// fakeDir is a directory handle over a plain object: {name: {...}} for folders, {name: 'data'} for files.
function fakeDir(tree) {
  return {
    async getDirectoryHandle(n, opts) {
      if (!(n in tree)) { if (!opts?.create) throw new NotFound(); tree[n] = {}; }
      if (typeof tree[n] !== 'object') throw new Mismatch();
      return fakeDir(tree[n]);
    },
    async getFileHandle(n, opts) {
      if (!(n in tree)) { if (!opts?.create) throw new NotFound(); tree[n] = ''; }
      if (typeof tree[n] === 'object') throw new Mismatch();
      return {
        async createWritable() {
          const parts = [];
          return { write: (d) => { parts.push(Buffer.from(d)); }, close: () => { tree[n] = Buffer.concat(parts).toString(); }, abort: () => {} };
        },
      };
    },
  };
}

test('saving into a chosen folder never replaces what is there', async () => {
  const tree = { 'notes.txt': 'mine', photos: { 'a.jpg': 'old' } };
  const entries = (...paths) => paths.map((path) => ({ path, kind: 'file', size: 3 }));
  for (const path of ['notes.txt', 'photos/a.jpg', 'photos']) {
    const saver = pickerSaver(null, fakeDir(tree), null);
    await assert.rejects(saver.prepare(entries('new.txt', path)), (e) => {
      assert.equal(e.code, 'exists');
      assert.equal(e.message, `"${path}" is already in the folder you chose; choose another folder, or move that file away and try again`);
      return true;
    }, path);
  }
  assert.deepEqual(tree, { 'notes.txt': 'mine', photos: { 'a.jpg': 'old' } }, 'nothing was written or replaced');

  // New names are saved.
  globalThis.document = { getElementById: () => null, createElement: () => ({ dataset: {}, children: [], append() {}, setAttribute() {}, addEventListener() {} }) };
  const open = await pickerSaver(null, fakeDir(tree), null).prepare(entries('photos/b.jpg', 'c.txt'));
  const sink = await open({ path: 'photos/b.jpg', kind: 'file', size: 3 });
  await sink.write(new Uint8Array([104, 105, 33]));
  await sink.close();
  assert.equal(tree.photos['b.jpg'], 'hi!');
  assert.equal(tree['notes.txt'], 'mine');
});
