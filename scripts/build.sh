#!/bin/sh
# Builds berth into build/: the C helper berth-init (its op table header generated from
# TypeScript) and berth-runtime, a single executable made by the pinned Bun.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
bun="$top/node_modules/bun/bin/bun.exe"
[ -x "$bun" ] || bun="$top/node_modules/.bin/bun"
mkdir -p build
"$bun" scripts/gen-plan-ops.ts > build/plan-ops.h.tmp
mv build/plan-ops.h.tmp build/plan-ops.h
# berth-init is static (musl) when musl-gcc is there: it execs twice per container and per exec
# (itself, then its sealed copy), and without a dynamic loader each exec costs ~1 ms less CPU.
# musl ships no kernel headers: give it the uapi ones (linux/, asm/) and nothing else of glibc's.
if command -v musl-gcc >/dev/null 2>&1 && [ -d /usr/include/linux ]; then
  mkdir -p build/kernel-include
  ln -sfn /usr/include/linux build/kernel-include/linux
  ln -sfn /usr/include/asm-generic build/kernel-include/asm-generic
  ln -sfn "/usr/include/$(gcc -dumpmachine)/asm" build/kernel-include/asm
  musl-gcc -O2 -Wall -Wextra -Werror -std=gnu11 -static -Ibuild -isystem build/kernel-include -o build/berth-init.tmp native/berth-init.c
else
  ${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -Ibuild -o build/berth-init.tmp native/berth-init.c
fi
# berth-monitor stays beside every container for its whole life: static with musl it is 148 KiB
# resident (Pss 140 KiB) against 1.6 MiB linked to glibc (its shared pages: Pss 178 KiB), measured
# with bench/monitor-rss.ts; the goal is ≤ 1 MiB per container.
${MUSL_CC:-$(command -v musl-gcc || echo "${CC:-cc}")} -O2 -Wall -Wextra -Werror -std=gnu11 -static -o build/berth-monitor.tmp native/berth-monitor.c
mv build/berth-monitor.tmp build/berth-monitor
mv build/berth-init.tmp build/berth-init
# The sandbox's helpers (src/sandbox): the init of a run, static because it runs in the run's rootfs
# (with musl: glibc's start-up probes the caches with cpuid — intel_check_word in perf — which traps
# to the hypervisor here; a static `int main(){}` took 1.3-3.6 ms per fork+exec+exit with glibc
# against 0.3-1.7 ms with musl on this shared VM, and the init runs once per run), and the guard
# that cleans up after a caller that died.
${MUSL_CC:-$(command -v musl-gcc || echo "${CC:-cc}")} -O2 -Wall -Wextra -Werror -std=gnu11 -static -o build/berth-sandbox-init.tmp native/berth-sandbox-init.c
mv build/berth-sandbox-init.tmp build/berth-sandbox-init
${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -o build/berth-sandbox-guard.tmp native/berth-sandbox-guard.c
mv build/berth-sandbox-guard.tmp build/berth-sandbox-guard
# The infra process of a CRI pod (the only file of the built-in localhost/berth-pause image), static
# because it runs alone in that image's rootfs.
${MUSL_CC:-$(command -v musl-gcc || echo "${CC:-cc}")} -O2 -Wall -Wextra -Werror -std=gnu11 -static -o build/berth-pause.tmp native/berth-pause.c
mv build/berth-pause.tmp build/berth-pause
# A single executable with the code precompiled to bytecode: measured 6.5 ms to start against
# 17 ms for the same bundle run as a script (no tsconfig/package.json lookups, no parse).
# Its code runs once per invocation, so JIT tiers never pay back their compile time on 2 cores:
# --compile-jit-policy keeps it in the interpreter (run true: 21.8 → 18.3 ms median here).
# No .env or bunfig.toml from the working directory (often the bundle): a .env there could set
# BERTH_INIT and run another helper as root; skipping the lookups also saves ~0.3 ms per start.
# ES modules split into chunks (--splitting --format esm), each loaded at its first import():
# in one file, every module's top-level functions and the export objects of every module that
# is imported lazily are made at start, whether the command uses them or not (measured: 3000
# exported one-line functions, never called, +3 ms per start; `berth --version` 5.5 → 4.2 ms,
# `berth images` 6.4 → 5.3, `berth run --rm` −0.4 ms, `berth-runtime --version` 3.6 → 3.3).
"$bun" build src/runtime-cli/main.ts --compile --splitting --format esm --bytecode --minify --compile-jit-policy 1000 \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig --outfile build/berth-runtime.tmp >/dev/null
mv build/berth-runtime.tmp build/berth-runtime
# The CRI front (src/api/cri with grpc-js and protobufjs) as a bundle beside berth, loaded by berthd
# on the first --cri-socket only: compiled into berth it slowed every command's start.
"$bun" build src/api/cri/server.ts --target bun --minify --outfile build/berth-cri.js.tmp >/dev/null
mv build/berth-cri.js.tmp build/berth-cri.js
# The berth CLI, built the same way (one executable beside berth-init, which it runs containers with).
"$bun" build src/cli/main.ts --compile --splitting --format esm --bytecode --minify --compile-jit-policy 1000 \
  --no-compile-autoload-dotenv --no-compile-autoload-bunfig --outfile build/berth.tmp >/dev/null
mv build/berth.tmp build/berth
