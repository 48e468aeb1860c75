#!/usr/bin/env bash
# Run the built image the only way these machines allow (podman run is refused: the sandbox
# denies crun's setrlimit): export its filesystem and chroot into it. Checks that it holds no
# shell, that `headroom --version` runs, and `headroom status --root` on a capture of this host.
#
#   deploy/image/check.sh IMAGE [BINARY]     (BINARY makes the capture; default target/release/headroom)
set -euo pipefail
cd "$(dirname "$0")/../.."
image=$1
bin=${2:-target/release/headroom}
podman_() { podman --storage-driver "${PODMAN_STORAGE_DRIVER:-vfs}" "$@"; }
work=$(mktemp -d /tmp/headroom-image-check.XXXXXX)
cid=""
cleanup() {
    [ -n "$cid" ] && podman_ rm -f "$cid" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cid=$(podman_ create "$image")
mkdir "$work/rootfs"
podman_ export "$cid" | tar -x -C "$work/rootfs"
echo "image $image: $(du -sh "$work/rootfs" | cut -f1) unpacked, $(find "$work/rootfs" -type f | wc -l) files"
for shell in bin/sh bin/bash usr/bin/sh; do
    if [ -e "$work/rootfs/$shell" ]; then echo "FAIL: the image has a shell ($shell)"; exit 1; fi
done
chroot "$work/rootfs" /usr/bin/headroom --version
"$bin" capture --output "$work/rootfs/node.tar.gz" >/dev/null 2>"$work/capture.log" || { cat "$work/capture.log"; exit 1; }
chroot "$work/rootfs" /usr/bin/headroom status --root /node.tar.gz > "$work/status.txt"
grep -q '^MemoryPressure: ' "$work/status.txt" || { echo "FAIL: status printed no verdict:"; cat "$work/status.txt"; exit 1; }
head -3 "$work/status.txt"
echo "image check: ok"
