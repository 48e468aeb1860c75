#!/bin/sh
# Peak and resident memory of `headroom agent` with a pods file of 0, 110 and 550 real-sized
# pods (BENCHMARKS.md, "The agent under faults"). Usage: pods_file_rss.sh BIN [BIN...]
# Each agent runs on the live host (--listen off, notifications off, 1 s period) for 4 s; the
# pods are not on this node, so this is the cost of reading and holding the file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n' > "$tmp/kc.yaml"
echo '[]' > "$tmp/p0.json"
python3 "$here/make_pods_file.py" 110 "$tmp/p110.json"
python3 "$here/make_pods_file.py" 550 "$tmp/p550.json"
printf '| binary | pods | file KiB | VmHWM KiB | VmRSS KiB |\n| --- | --- | --- | --- | --- |\n'
for bin in "$@"; do
  for n in 0 110 550; do
    "$bin" agent --config "$tmp/kc.yaml" --pods "$tmp/p$n.json" --listen off \
      --notifications off --period 1s >/dev/null 2>&1 &
    pid=$!
    sleep 4
    hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    kill $pid; wait $pid 2>/dev/null || true
    printf '| %s | %s | %s | %s | %s |\n' "$bin" "$n" $(( $(stat -c %s "$tmp/p$n.json") / 1024 )) "$hwm" "$rss"
  done
done
