// Package transfer implements the p2pcopy transfer protocol (docs/PROTOCOL.md §2):
// the messages two peers exchange once a reliable, ordered message channel is open
// between them.
//
// The package knows nothing about WebRTC: [Send] and [Receive] run over any [Conn],
// and [Pipe] provides an in-memory pair for tests and in-process use.
//
// Everything the peer sends is untrusted. The receiver validates every path
// ([SanitizePath]), enforces [Limits], refuses to overwrite existing files unless asked
// to, performs all file system access through an [os.Root] opened on the output
// directory, writes into NAME.p2pcopy-part files and renames them into place only after
// their SHA-256 matched.
package transfer
