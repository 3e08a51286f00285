#!/bin/sh
# The main job: `berth run --rm busybox echo hello` on a fresh store (the built-in busybox image is
# made from the host's busybox-static on first use, offline); then one real container from the
# busybox bundle that shows its own hostname, itself as PID 1, and its own mount table — with
# every kernel step printed (--explain) when asked.
set -eu
cd "$(dirname "$0")/.."
bundle=$(mktemp -d /tmp/berth-demo.XXXXXX)
root=$(mktemp -d /tmp/berth-demo-state.XXXXXX)
store=$(mktemp -d /tmp/berth-demo-store.XXXXXX)
# The run's default bridge network made host state (its bridge, firewall chains, ip_forward):
# system reset takes it down before the store goes.
trap 'build/berth --root "$store/root" --runroot "$store/run" system reset -f >/dev/null || echo "berth system reset of the demo store failed" >&2; rm -rf "$bundle" "$root" "$store"' EXIT
echo '$ berth run --rm busybox echo hello'
build/berth --root "$store/root" --runroot "$store/run" ${BERTH_EXPLAIN:+--explain} run --rm busybox echo hello
echo
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
