#!/bin/sh
# Makes an OCI bundle (rootfs + config.json) from the host's busybox-static: the built-in image
# the README's main job and the tests run. Usage: make-busybox-bundle.sh DIR
set -eu
dir=${1:?usage: make-busybox-bundle.sh DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-busybox-bundle: $busybox is missing: apt-get install busybox-static" >&2; exit 1; }
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || { echo "make-busybox-bundle: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/rootfs/bin" "$dir.tmp/rootfs/proc" "$dir.tmp/rootfs/sys" "$dir.tmp/rootfs/dev" "$dir.tmp/rootfs/tmp" "$dir.tmp/rootfs/etc" "$dir.tmp/rootfs/root"
cp "$busybox" "$dir.tmp/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$dir.tmp/rootfs/bin/$applet"
done
chmod 1777 "$dir.tmp/rootfs/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir.tmp/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir.tmp/rootfs/etc/group"
"$top/build/berth-runtime" spec --bundle "$dir.tmp"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
