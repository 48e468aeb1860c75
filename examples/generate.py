#!/usr/bin/env python3
"""Regenerates the example timelines (python3 examples/generate.py from the repo root)."""
import json
MI = 1 << 20
GI = 1 << 30
T0 = 1_795_000_000  # 2026-11-18T...
import datetime
def ts(s):
    return datetime.datetime.fromtimestamp(T0 + s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

def pod(name, uid, prio=0, req=None, lim=None, tgps=None, ns="shop"):
    res = {}
    if req: res["requests"] = {"memory": req}
    if lim: res["limits"] = {"memory": lim}
    spec = {"priority": prio, "containers": [{"name": "app", "resources": res} if res else {"name": "app"}]}
    if tgps is not None: spec["terminationGracePeriodSeconds"] = tgps
    return {"metadata": {"name": name, "namespace": ns, "uid": uid}, "spec": spec}

def flow(v):
    return json.dumps(v, separators=(", ", ": "))

def summary_yaml(t, cap, avail, pods_ws, pods_container=None, indent="      "):
    ws = cap - avail
    lines = [f"{indent}node:",
             f"{indent}  nodeName: node-1",
             f"{indent}  memory: {flow({'time': ts(t), 'availableBytes': avail, 'workingSetBytes': ws, 'usageBytes': ws + 512*MI})}"]
    if pods_container:
        pavail, pws, pusage = pods_container
        lines.append(f"{indent}  systemContainers:")
        lines.append(f"{indent}    - name: pods")
        lines.append(f"{indent}      memory: {flow({'time': ts(t), 'availableBytes': pavail, 'workingSetBytes': pws, 'usageBytes': pusage})}")
    lines.append(f"{indent}pods:")
    for (name, uid, w) in pods_ws:
        lines.append(f"{indent}  - podRef: {flow({'name': name, 'namespace': 'shop', 'uid': uid})}")
        lines.append(f"{indent}    memory: {flow({'time': ts(t), 'workingSetBytes': w})}")
        lines.append(f"{indent}    containers: [{flow({'name': 'app', 'memory': {'time': ts(t), 'workingSetBytes': w}})}]")
    return "\n".join(lines)

def pods_yaml(pods, indent="  "):
    return "\n".join(f"{indent}- {flow(p)}" for p in pods)

def write(path, header, pods, steps):
    out = [header.rstrip(), "pods:", pods_yaml(pods), "steps:"]
    for st in steps:
        out.append(f"  - time: {ts(st['t'])}")
        if "note" in st:
            out.insert(len(out)-1, f"  # {st['note']}")
        if "pods" in st:
            out.append("    pods:")
            out.append(pods_yaml(st["pods"], "      "))
        if "admit" in st:
            out.append("    admit:")
            out.append(pods_yaml(st["admit"], "      "))
        out.append("    summary:")
        out.append(summary_yaml(st["t"], st["cap"], st["avail"], st["ws"], st.get("pc")))
    open(path, "w").write("\n".join(out) + "\n")

# ---------- 1. soft then hard ----------
cap = 8 * GI
web = pod("web", "uid-web", 0, "512Mi", "1Gi", tgps=60)
batch = pod("batch", "uid-batch", 0, None, None, tgps=5)
cache = pod("cache", "uid-cache", 100, "2Gi", "2Gi")
newbe = pod("late-best-effort", "uid-late", 0)
ws_all = [("web", "uid-web", 900*MI), ("batch", "uid-batch", 1200*MI), ("cache", "uid-cache", 1900*MI)]
ws_nobatch = [w for w in ws_all if w[0] != "batch"]
ws_hot = [("web", "uid-web", 1500*MI), ("cache", "uid-cache", 1900*MI)]
steps = [
    {"t": 0, "cap": cap, "avail": 2*GI, "ws": ws_all, "note": "plenty of memory"},
    {"t": 10, "cap": cap, "avail": 900*MI, "ws": ws_all, "admit": [newbe], "note": "below the soft threshold: MemoryPressure at once, BestEffort admission refused, grace starts"},
    {"t": 20, "cap": cap, "avail": 880*MI, "ws": ws_all},
    {"t": 30, "cap": cap, "avail": 870*MI, "ws": ws_all},
    {"t": 40, "cap": cap, "avail": 860*MI, "ws": ws_all, "note": "30s grace elapsed: soft eviction, grace min(evictionMaxPodGracePeriod, pod's)"},
    {"t": 50, "cap": cap, "avail": 2*GI, "ws": ws_nobatch, "pods": [web, cache], "note": "batch is gone; memory recovers, the condition stays for the transition period"},
    {"t": 60, "cap": cap, "avail": 400*MI, "ws": ws_hot, "note": "a spike below the hard threshold: immediate eviction, 1 s grace"},
    {"t": 70, "cap": cap, "avail": 3*GI, "ws": [("cache", "uid-cache", 1900*MI)], "pods": [cache]},
    {"t": 100, "cap": cap, "avail": 3*GI, "ws": [("cache", "uid-cache", 1900*MI)], "note": "30s after the last pressure: condition cleared"},
]
write("examples/soft-then-hard/timeline.yaml", """# Soft, then hard memory pressure on an 8Gi node.
#   headroom simulate --config examples/soft-then-hard/kubelet-config.yaml \\
#                     --timeline examples/soft-then-hard/timeline.yaml --format text
# Expect: MemoryPressure from the first step under 1Gi (soft thresholds set the condition before
# their grace period), BestEffort admission refused, `shop/batch` evicted after 30s of soft
# pressure with a 5s grace (its own terminationGracePeriodSeconds is below the 20s cap), then
# `shop/web` evicted at once (1s) when available drops under the 500Mi hard threshold.
""", [web, batch, cache], steps)
open("examples/soft-then-hard/kubelet-config.yaml", "w").write("""# Soft threshold with a 30s grace period, hard threshold below it, 20s cap on soft grace,
# and a short transition period so the condition visibly clears in the example.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  memory.available: 500Mi
evictionSoft:
  memory.available: 1Gi
evictionSoftGracePeriod:
  memory.available: 30s
evictionMaxPodGracePeriod: 20
evictionPressureTransitionPeriod: 30s
""")

# ---------- 2. minimum reclaim ----------
a = pod("api", "uid-api", 0, "256Mi", "1Gi")
b = pod("worker", "uid-worker", 0, "256Mi", "2Gi")
c = pod("db", "uid-db", 1000, "4Gi", "4Gi")
ws = [("api", "uid-api", 700*MI), ("worker", "uid-worker", 1500*MI), ("db", "uid-db", 3900*MI)]
steps = [
    {"t": 0, "cap": cap, "avail": 800*MI, "ws": ws, "note": "under the 1Gi hard threshold: evict the pod furthest over its request"},
    {"t": 10, "cap": cap, "avail": 1536*MI, "ws": [w for w in ws if w[0] != "worker"], "pods": [a, c], "note": "above 1Gi but under 1Gi + 1Gi minimum reclaim: still under pressure, evict again"},
    {"t": 20, "cap": cap, "avail": 2200*MI, "ws": [w for w in ws if w[0] == "db"], "pods": [c], "note": "recovered past 2Gi: threshold no longer met"},
]
write("examples/min-reclaim/timeline.yaml", """# Minimum reclaim: once the 1Gi hard threshold fires, the kubelet keeps evicting until
# 1Gi + 1Gi (evictionMinimumReclaim) is available, not just 1Gi.
#   headroom simulate --config examples/min-reclaim/kubelet-config.yaml \\
#                     --timeline examples/min-reclaim/timeline.yaml --format text
# Expect: `shop/worker` evicted at 800Mi available, `shop/api` evicted at 1.5Gi available
# (threshold held by minimum reclaim), nothing at 2.2Gi.
""", [a, b, c], steps)
open("examples/min-reclaim/kubelet-config.yaml", "w").write("""# 1Gi hard threshold with 1Gi minimum reclaim.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  memory.available: 1Gi
evictionMinimumReclaim:
  memory.available: 1Gi
""")

# ---------- 3. allocatable ----------
cap = 16 * GI
pods_limit = 13 * GI  # 16Gi - systemReserved 2Gi - kubeReserved 1Gi
x = pod("etl", "uid-etl", 0, "4Gi", "8Gi")
y = pod("frontend", "uid-frontend", 0, "2Gi", "4Gi")
z = pod("metrics", "uid-metrics", 0, None, None)
def pc(pods_ws_bytes):
    return (pods_limit - pods_ws_bytes, pods_ws_bytes, pods_ws_bytes + 1*GI)
ws1 = [("etl", "uid-etl", 6*GI), ("frontend", "uid-frontend", 3*GI), ("metrics", "uid-metrics", 2*GI)]
ws2 = [("etl", "uid-etl", 7*GI), ("frontend", "uid-frontend", 3*GI + 512*MI), ("metrics", "uid-metrics", 2*GI + 300*MI)]
tot = lambda w: sum(v for _, _, v in w)
steps = [
    {"t": 0, "cap": cap, "avail": cap - tot(ws1) - 1*GI, "ws": ws1, "pc": pc(tot(ws1)), "note": "pods use 11Gi of their 13Gi cgroup"},
    {"t": 10, "cap": cap, "avail": cap - tot(ws2) - 1*GI, "ws": ws2, "pc": pc(tot(ws2)), "note": "pods near the kubepods limit: allocatable threshold met while memory.available still shows 2Gi+"},
]
write("examples/allocatable/timeline.yaml", """# Allocatable (kubepods) pressure on a 16Gi node with 2Gi systemReserved + 1Gi kubeReserved.
# With enforceNodeAllocatable [pods] the kubelet copies the hard memory.available threshold to
# allocatableMemory.available, measured against the kubepods cgroup (13Gi limit), not MemTotal.
#   headroom simulate --config examples/allocatable/kubelet-config.yaml \\
#                     --timeline examples/allocatable/timeline.yaml --format text
# Expect: no pressure at first; then MemoryPressure from allocatableMemory.available although the
# node as a whole has gigabytes available, and `shop/etl` evicted. With kernelMemcgNotification the
# memcg notifiers are armed on / and /kubepods.
""", [x, y, z], steps)
open("examples/allocatable/kubelet-config.yaml", "w").write("""# Default-style hard threshold, node reservations, pods cgroup enforced, memcg notifications on.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
evictionHard:
  memory.available: 500Mi
systemReserved:
  memory: 2Gi
kubeReserved:
  memory: 1Gi
enforceNodeAllocatable: [pods]
kernelMemcgNotification: true
""")
