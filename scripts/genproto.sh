#!/usr/bin/env bash
# Regenerates every .pb.go beside its .proto under proto/.
# Output is deterministic: running it twice gives byte-identical files.
set -euo pipefail

if ! command -v protoc >/dev/null 2>&1; then
  echo "genproto: protoc not found; install it with: apt-get install protobuf-compiler" >&2
  exit 1
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The plugin version is pinned by go.mod (tool directive).
go build -o "$tmp/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go

mapfile -t protos < <(cd proto && find . -name '*.proto' -type f | sed 's|^\./||' | LC_ALL=C sort)
if [ "${#protos[@]}" -eq 0 ]; then
  echo "genproto: no .proto files under proto/" >&2
  exit 1
fi

protoc \
  --plugin=protoc-gen-go="$tmp/protoc-gen-go" \
  -I proto \
  --go_out=proto \
  --go_opt=paths=source_relative \
  "${protos[@]}"

echo "genproto: generated ${#protos[@]} files with $(protoc --version)"
