// The transfer protocol (PROTOCOL.md §2): the one module the page imports for it, gathered from protocol-*.js.

export { MAX_MESSAGE_SIZE, DEFAULT_CHUNK, PROTOCOL_VERSION, DEFAULT_IDLE_MS, TransferError, goJSON, encodeMessage, wireEntry, message, decodeMessage, encodeManifest } from './protocol-messages.js';
export { pathProblem, formatBytes } from './protocol-paths.js';
export { MessageQueue, FLOW, dataChannelConn, pipe, live } from './protocol-conn.js';
export { send } from './protocol-send.js';
export { receive, offerable } from './protocol-receive.js';
