#!/bin/sh
# Builds berth into build/: the C helper berth-init (its op table header generated from
# TypeScript) and berth-runtime, one bundled JavaScript file run by the pinned Bun (bundling saves
# the per-file transpile on every container start).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
bun="$top/node_modules/bun/bin/bun.exe"
[ -x "$bun" ] || bun="$top/node_modules/.bin/bun"
mkdir -p build
"$bun" scripts/gen-plan-ops.ts > build/plan-ops.h.tmp
mv build/plan-ops.h.tmp build/plan-ops.h
${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -Ibuild -o build/berth-init.tmp native/berth-init.c
mv build/berth-init.tmp build/berth-init
"$bun" build src/runtime-cli/main.ts --target=bun --minify-syntax --minify-whitespace --outfile build/berth-runtime.js >/dev/null
{ echo "#!$bun"; cat build/berth-runtime.js; } > build/berth-runtime.tmp
rm build/berth-runtime.js
chmod 755 build/berth-runtime.tmp
mv build/berth-runtime.tmp build/berth-runtime
