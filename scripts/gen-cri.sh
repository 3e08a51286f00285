#!/bin/sh
# Regenerates src/api/cri/generated/ from the CRI v1 api.proto of k8s.io/cri-api (the version
# crictl 1.26 speaks: v0.26.1, pkg/apis/runtime/v1/api.proto). Usage:
#   scripts/gen-cri.sh [path/to/upstream/api.proto]
# With no argument it regenerates from the copy kept in generated/api.proto.
# What it makes:
#   generated/api.proto       the upstream file less its gogoproto import and options (Go-only
#                             code-generation hints; protobufjs cannot resolve that import)
#   generated/api.json        the parsed descriptor (protobufjs JSON): berthd loads this, so no
#                             .proto parsing happens at run time and the compiled executable
#                             embeds it as data
#   generated/runtime/v1/*.ts TypeScript types (@grpc/proto-loader's proto-loader-gen-types)
# The options below must match LOAD_OPTIONS in src/api/cri/proto.ts.
set -eu
cd "$(dirname "$0")/.."
out=src/api/cri/generated
src=${1:-$out/api.proto}
tmp=$(mktemp)
grep -v 'gogoproto' "$src" > "$tmp"
mv "$tmp" "$out/api.proto.new"
mv "$out/api.proto.new" "$out/api.proto"
rm -rf "$out/runtime" "$out/api.ts"
node_modules/.bin/proto-loader-gen-types --keepCase --longs=String --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js --outDir="$out" "$out/api.proto" >/dev/null
node_modules/.bin/bun -e '
  const protobuf = require("protobufjs");
  const root = new protobuf.Root().loadSync(process.argv[1], { keepCase: true });
  require("fs").writeFileSync(process.argv[2], JSON.stringify(root.toJSON()) + "\n");
' "$out/api.proto" "$out/api.json"
