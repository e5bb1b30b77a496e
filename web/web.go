// Package web is the bundled page that lets a browser act as a p2pcopy peer: plain HTML, CSS
// and ES modules (no build step) implementing the token codec and the transfer protocol of
// docs/PROTOCOL.md in JavaScript. The CLI serves it ("p2pcopy web", "p2pcopy send --qr") or
// writes it out for static hosting ("p2pcopy web --export DIR").
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html style.css sw.js js all:vendor
var files embed.FS

// FS holds the page, index.html at its root. Tests and vendored sources stay out of it.
var FS fs.FS = files
