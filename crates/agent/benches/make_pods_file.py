#!/usr/bin/env python3
"""Write a `kubectl get pods -o json`-shaped PodList of N pods, as heavy as real ones:
managedFields, the last-applied-configuration annotation, env, probes, volume mounts,
conditions and container statuses (about 30 KB a pod with kubectl's 4-space indent). Used by the pods-file RSS benchmark
(BENCHMARKS.md, "Agent under faults"). Usage: make_pods_file.py N OUT.json [SEED]"""
import json
import sys


def pod(i, seed):
    name = f"web-{seed}-{i:04d}"
    uid = f"{seed:08x}-0000-4000-8000-{i:012x}"
    env = [{"name": f"SETTING_{k}", "value": "x" * 40} for k in range(20)]
    container = {
        "name": "app",
        "image": "registry.example.com/team/app:1.2.3",
        "env": env,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
        "volumeMounts": [{"name": f"cfg-{k}", "mountPath": f"/etc/cfg/{k}"} for k in range(5)],
    }
    spec = {
        "containers": [container, dict(container, name="sidecar")],
        "volumes": [{"name": f"cfg-{k}", "configMap": {"name": f"cfg-{k}"}} for k in range(5)],
        "priority": 0,
        "nodeName": "node-1",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300}],
    }
    managed = [{"manager": "kube-controller-manager", "operation": "Update",
                "apiVersion": "v1", "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {f"f:spec{k}": {f"f:containers{j}": {} for j in range(20)} for k in range(8)}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name, "namespace": "team", "uid": uid,
            "labels": {"app": "web", "pod-template-hash": "abc123", "tier": "frontend"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(spec)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc123",
                                 "uid": "owner", "controller": True}],
            "managedFields": managed,
        },
        "spec": spec,
        "status": {
            "phase": "Running", "qosClass": "Burstable", "startTime": "2026-01-01T00:00:00Z",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": c, "ready": True, "restartCount": 0,
                                   "image": "registry.example.com/team/app:1.2.3",
                                   "containerID": f"containerd://{i:064x}"} for c in ("app", "sidecar")],
        },
    }


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    doc = {"apiVersion": "v1", "kind": "List", "items": [pod(i, seed) for i in range(n)]}
    with open(out, "w") as f:
        json.dump(doc, f, indent=4)


if __name__ == "__main__":
    main()
