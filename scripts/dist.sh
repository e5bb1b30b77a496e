#!/usr/bin/env bash
# Builds release archives of p2pcopy for every supported OS and architecture into dist/, with
# SHA256SUMS, reproducibly: the same commit and Go version give the same bytes (-trimpath, no VCS
# stamping, fixed link-time version and commit, archive entries with fixed names, owner and time).
#
# Usage: scripts/dist.sh [VERSION]      (default: git describe --tags --always)
#        TARGETS="linux/amd64 …" DIST_DIR=out scripts/dist.sh   (a subset, elsewhere)
#
# A plain script rather than goreleaser: seven `go build`s, tar and zip need no tool of their own,
# and every step of what makes the archives reproducible is here to read.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# The commit's time, so that archives of one commit are identical whenever they are built.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
targets=${TARGETS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 freebsd/amd64"}
out=${DIST_DIR:-dist}
rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for t in $targets; do
  os=${t%/*}
  arch=${t#*/}
  name="p2pcopy_${version}_${os}_${arch}"
  dir="$stage/$name"
  mkdir -p "$dir"
  exe=p2pcopy
  [ "$os" = windows ] && exe=p2pcopy.exe
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -buildvcs=false \
    -ldflags "-s -w -buildid= -X main.buildVersion=$version -X main.buildCommit=$commit" \
    -o "$dir/$exe" ./cmd/p2pcopy
  cp README.md "$dir/"
  [ -f LICENSE ] && cp LICENSE "$dir/"
  find "$dir" -exec touch -h -d "@$epoch" {} +
  if [ "$os" = windows ]; then
    abs=$(cd "$out" && pwd)
    (cd "$stage" && find "$name" -type f | LC_ALL=C sort | TZ=UTC zip -X -q -@ "$abs/$name.zip")
  else
    tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
      --format=gnu -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
  fi
  echo "dist: $out/$name"
done
(cd "$out" && sha256sum -- * > SHA256SUMS)
cat "$out/SHA256SUMS"
