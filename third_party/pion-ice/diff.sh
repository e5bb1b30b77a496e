#!/usr/bin/env bash
# Shows p2pcopy's changes to pion/ice: diffs this directory against the pristine module
# (downloaded into the Go module cache) and writes the result to p2pcopy.patch.
# Usage: third_party/pion-ice/diff.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=v4.4.8
upstream=$(cd "$here/../.." && go mod download -json "github.com/pion/ice/v4@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
[ -d "$upstream" ] || { echo "could not download github.com/pion/ice/v4@$version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ln -s "$upstream" "$tmp/upstream-$version"
ln -s "$here" "$tmp/p2pcopy"
# Upstream's examples, docs and repository files are not copied: compare the Go packages only.
(cd "$tmp" && diff -ruN -x examples -x '*.md' -x '*.yml' -x '*.json' -x '.*'  \
  -x diff.sh -x p2pcopy.patch "upstream-$version" p2pcopy) |
  sed -E 's/^((\+\+\+|---) [^\t]*)\t.*/\1/' > "$here/p2pcopy.patch" || true
cat "$here/p2pcopy.patch"
