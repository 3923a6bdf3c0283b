#!/usr/bin/env bash
# Generates libs/proto/src/gen from proto/postern/v1/*.proto with protoc + ts-proto.
# The output is committed; never edit it by hand (CI regenerates and compares).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/src/gen"
command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler libprotobuf-dev" >&2; exit 1; }
[ -f /usr/include/google/protobuf/timestamp.proto ] || { echo "well-known protos missing: apt-get install -y libprotobuf-dev" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"
cd "$root/proto"
protoc -I . -I /usr/include \
  --plugin="$here/node_modules/.bin/protoc-gen-ts_proto" \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,env=node,useDate=true,forceLong=string,useOptionals=messages,oneof=unions-value \
  postern/v1/*.proto
echo "generated $(find "$out" -name '*.ts' | wc -l) files into ${out#$root/}"
