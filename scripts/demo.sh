#!/usr/bin/env bash
# Sends a random 50 MB file from one p2pcopy process to another on this machine. The two processes
# are joined by two named pipes, exactly as two people would paste tokens into a chat.
set -euo pipefail
bin=${1:-bin/p2pcopy}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c 50000000 /dev/urandom > "$dir/demo.bin"
mkfifo "$dir/a2b" "$dir/b2a"
echo "== sender: $bin send --no-stun demo.bin"
"$bin" send --no-stun "$dir/demo.bin" < "$dir/b2a" > "$dir/a2b" &
sender=$!
echo "== receiver: $bin receive --no-stun -y -o out"
"$bin" receive --no-stun -y -o "$dir/out" > "$dir/b2a" < "$dir/a2b"
wait "$sender"
if cmp -s "$dir/demo.bin" "$dir/out/demo.bin"; then
  echo "== demo.bin arrived identical ($(stat -c %s "$dir/out/demo.bin") bytes)"
else
  echo "== demo.bin differs!"; exit 1
fi
