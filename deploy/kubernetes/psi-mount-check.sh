#!/usr/bin/env bash
# The DaemonSet's /proc layout on this kernel, in a private mount namespace: the host's /proc
# read-only at /host/proc refuses a PSI trigger (the bug: PSI silently lost), and /proc/pressure
# bound writable over it accepts one, while /proc/sys stays read-only. Needs root (unshare -m).
set -euo pipefail
[ -e /proc/pressure/memory ] || { echo "psi-mount-check: this kernel has no PSI (/proc/pressure/memory)"; exit 1; }
host=$(mktemp -d /tmp/headroom-deploy-psi.XXXXXX)
mkdir "$host/proc"
trap 'rmdir "$host/proc" "$host"' EXIT
HOST="$host" unshare -m python3 - <<'PY'
import os, subprocess
proc = os.path.join(os.environ["HOST"], "proc")
def sh(*a): subprocess.run(a, check=True)
def trigger():
    try:
        fd = os.open(os.path.join(proc, "pressure/memory"), os.O_RDWR | os.O_NONBLOCK)
    except OSError as e:
        return e.strerror
    try:
        os.write(fd, b"some 150000 2000000\0")   # a 2 s window: allowed without CAP_SYS_RESOURCE
        return "registered"
    except OSError as e:
        return e.strerror
    finally:
        os.close(fd)
sh("mount", "--bind", "/proc", proc)
sh("mount", "-o", "remount,bind,ro", proc)
ro = trigger()
sh("mount", "--bind", "/proc/pressure", os.path.join(proc, "pressure"))
rw = trigger()
try:
    open(os.path.join(proc, "sys/vm/drop_caches"), "w").close()
    sys_ro = False
except OSError:
    sys_ro = True
print(f"psi-mount-check: /proc read-only: {ro}; /proc/pressure writable over it: {rw}; /proc/sys read-only: {sys_ro}")
ok = ro != "registered" and rw == "registered" and sys_ro
raise SystemExit(0 if ok else 1)
PY
