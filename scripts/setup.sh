#!/bin/sh
# berth set-up on a fresh Debian machine, as root: Debian packages, npm dependencies, the native
# helper and the bundled runtime, the built-in busybox bundle; then the main job (a real container).
# Safe to run again.
set -eu
cd "$(dirname "$0")/.."

# Packages: busybox-static is the built-in image; the rest are the peers and real clients the
# tests and benchmarks run against (runc, crun, containerd, podman, docker-registry, skopeo, umoci; bubblewrap for bench/sandbox.ts); musl-tools builds the sandbox's static init; tini is --init.
PKGS="busybox-static gcc libc6-dev libseccomp2 runc crun containerd podman conmon docker-registry skopeo umoci hyperfine iptables containernetworking-plugins aardvark-dns iproute2 util-linux bsdutils procps python3 tini bubblewrap musl-tools"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
# npm may skip bun's install script; its binary then still sits in the platform package.
if ! node_modules/bun/bin/bun.exe --version >/dev/null 2>&1; then
  cp node_modules/@oven/bun-linux-x64/bin/bun node_modules/bun/bin/bun.exe
fi

echo "setup: building berth-init and berth-runtime"
./scripts/build.sh
./scripts/make-busybox-bundle.sh build/busybox

echo "setup: done. The main job — a container from the built-in busybox bundle:"
exec ./scripts/demo.sh
