#!/bin/sh
# The main job: one real container from the busybox bundle that shows its own hostname, itself as
# PID 1, and its own mount table — with every kernel step printed (--explain) when asked.
set -eu
cd "$(dirname "$0")/.."
bundle=$(mktemp -d /tmp/berth-demo.XXXXXX)
root=$(mktemp -d /tmp/berth-demo-state.XXXXXX)
trap 'rm -rf "$bundle" "$root"' EXIT
cp -a build/busybox/. "$bundle/"
node_modules/bun/bin/bun.exe -e '
  const f = process.argv[1] + "/config.json";
  const c = await Bun.file(f).json();
  c.process.terminal = false;
  c.hostname = "berth-demo";
  c.process.args = ["sh", "-c", "echo \"hostname: $(hostname)\"; echo; ps; echo; cat /proc/mounts"];
  await Bun.write(f, JSON.stringify(c, null, 2));
' "$bundle"
echo "host hostname: $(hostname)"
status=0
build/berth-runtime --root "$root" ${BERTH_EXPLAIN:+--explain} run --bundle "$bundle" "berth-demo-$$" || status=$?
exit $status
