// Tokens (PROTOCOL.md §1): the one module the page imports for them, gathered from token-*.js.

export { cleanPaste } from './paste.js';
export { TOKEN_PREFIX, OFFER, ANSWER, ROLES, CAND_TYPES, TokenError, parseIPv4, parseIP, unmap, formatIP, fromHex, toHex, checkToken, verificationCode, trimCandidates } from './token-core.js';
export { base64urlEncode, encodeToken } from './token-codec.js';
export { decodeToken } from './token-decode.js';
export { fingerprintSDP, tokenSDP, fromSDP } from './token-sdp.js';
