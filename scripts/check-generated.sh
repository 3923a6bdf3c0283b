#!/usr/bin/env bash
# Fails when libs/proto/src/gen is not what proto/ generates (hand edits, or a
# .proto change without `pnpm gen`).
set -euo pipefail
cd "$(dirname "$0")/.."
before=$(mktemp -d); trap 'rm -rf "$before"' EXIT
cp -r libs/proto/src/gen "$before/gen"
pnpm -s gen >/dev/null
if ! diff -r "$before/gen" libs/proto/src/gen >/dev/null; then
  echo "libs/proto/src/gen differs from what proto/ generates: run 'pnpm gen' and commit the result" >&2
  diff -r "$before/gen" libs/proto/src/gen | head -20 >&2
  exit 1
fi
echo "== generated protobuf code is up to date"
