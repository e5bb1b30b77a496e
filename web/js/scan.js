// Scan-and-go (docs/PROTOCOL.md §3): the page proves it read the link's secret by
// authenticating the answer it hands back. HMAC-SHA256 from the vendored noble library, since
// a page opened over http://LAN-address has no crypto.subtle.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { hmac } from '../vendor/noble-hashes/hmac.js';

const enc = new TextEncoder();

// answerMAC is hex(HMAC-SHA256(key = UTF-8 of the secret, message = UTF-8 of the answer token)).
export function answerMAC(secret, answer) {
  return Array.from(hmac(sha256, enc.encode(secret), enc.encode(answer)), (b) => b.toString(16).padStart(2, '0')).join('');
}
