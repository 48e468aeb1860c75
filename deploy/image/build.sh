#!/usr/bin/env bash
# Build the headroom image from a release binary, without pulling anything: assemble a rootfs
# (the binary, the libraries `ldd` names, the CA bundle) as the build context of the
# repository's Containerfile (FROM scratch). Prints the image name.
#
#   deploy/image/build.sh [BINARY] [TAG]     (default target/release/headroom, its version)
#
# Uses podman with the vfs storage driver (works without overlay support, e.g. in CI); set
# PODMAN_STORAGE_DRIVER to use another.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/release/headroom}
[ -x "$bin" ] || { echo "build.sh: no binary at $bin (cargo build --release -p headroom)" >&2; exit 2; }
tag=${2:-$("$bin" --version | awk '{print $2}')}
image="localhost/headroom:$tag"
ctx=$(mktemp -d /tmp/headroom-image-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT

root="$ctx/rootfs"
install -D -m 0755 "$bin" "$root/usr/bin/headroom"
# The release profile keeps line tables for backtraces (~80 MB); the image does without them.
if command -v strip >/dev/null 2>&1; then strip "$root/usr/bin/headroom"; fi
# The dynamic loader and every library, at the paths the binary asks for.
ldd "$bin" | awk '/=> \// {print $3} /^[[:space:]]*\// {print $1}' | while read -r lib; do
    real=$(readlink -f "$lib")
    # Keep the mode: the dynamic loader must stay executable.
    install -D -m "$(stat -c %a "$real")" "$real" "$root$lib"
done
# The kube client verifies the API server with the service account's CA; a kubeconfig's
# server may need the system bundle.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
# `status --root node.tar.gz` unpacks the archive under $TMPDIR (default /tmp).
install -d -m 1777 "$root/tmp"
cp Containerfile "$ctx/Containerfile"
podman --storage-driver "${PODMAN_STORAGE_DRIVER:-vfs}" build --quiet -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
echo "$image"
