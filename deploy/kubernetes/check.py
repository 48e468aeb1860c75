#!/usr/bin/env python3
"""Render every overlay (alone and with each opt-in component) and validate it offline.

CI has no kustomize binary it can install from the allowed registries, so this script renders
the small subset of kustomize these manifests use: `resources` (files or kustomization
directories), `components`, and inline JSON 6902 `patches` with a kind/name target. Where a
`kubectl` is on the PATH, the script also renders with `kubectl kustomize` and requires the
same objects, so the subset cannot drift from the real thing unnoticed.

Each rendered object is validated against the Kubernetes OpenAPI schemas (PyPI
`kubernetes-validate`, strict: unknown fields are errors) for the oldest and newest versions
checked, then the DaemonSet is checked for what the overlay promises (config path, runtime root,
action, capabilities, security settings).

With HEADROOM_BIN set (a built `headroom`), the DaemonSet's arguments of every rendering are
also parsed by the real binary: it must get past its flag checks to the (missing) --root.

Usage: [HEADROOM_BIN=target/debug/headroom] python3 deploy/kubernetes/check.py
       (exit 0: all good; 1: a finding, printed)
"""

import copy
import os
import shutil
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS = ["1.29.0", "1.37.0"]  # oldest supported by EKS/GKE at the time, newest schemas
OVERLAYS = {
    "kubeadm": ("/var/lib/kubelet/config.yaml", "/var/lib/containerd"),
    "eks-al2023": ("/etc/kubernetes/kubelet/config.json", "/var/lib/containerd"),
    "gke": ("/home/kubernetes/kubelet-config.yaml", "/var/lib/containerd"),
    "k3s": (
        "/var/lib/rancher/k3s/agent/etc/kubelet.conf.d/00-k3s-defaults.conf",
        "/var/lib/rancher/k3s/agent/containerd",
    ),
}
COMPONENTS = [None, "events", "evict", "kill", "configz"]


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(doc, ops):
    """RFC 6902 add / replace / remove (what the manifests use)."""
    for op in ops:
        *parents, last = pointer(op["path"])
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        kind = op["op"]
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, op["value"])
            elif kind == "replace":
                node[index] = op["value"]
            elif kind == "remove":
                del node[index]
            else:
                raise ValueError(f"unsupported op {kind}")
        else:
            if kind in ("add", "replace"):
                if kind == "replace" and last not in node:
                    raise KeyError(f"replace {op['path']}: no such field")
                node[last] = op["value"]
            elif kind == "remove":
                del node[last]
            else:
                raise ValueError(f"unsupported op {kind}")


def apply_patches(objects, patches, where):
    for patch in patches or []:
        target = patch["target"]
        ops = yaml.safe_load(patch["patch"])
        hit = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        if not hit:
            raise ValueError(f"{where}: patch target {target} matches nothing")
        for o in hit:
            json_patch(o, ops)


def render(directory, objects=None):
    """Objects of the kustomization in `directory` (a Kustomization or a Component)."""
    k = load_docs(os.path.join(directory, "kustomization.yaml"))[0]
    known = {"apiVersion", "kind", "resources", "components", "patches"}
    unknown = set(k) - known
    if unknown:
        raise ValueError(f"{directory}: kustomize fields this renderer does not know: {unknown}")
    out = [] if objects is None else objects
    for r in k.get("resources", []):
        path = os.path.normpath(os.path.join(directory, r))
        out.extend(render(path) if os.path.isdir(path) else load_docs(path))
    for c in k.get("components", []):
        render(os.path.normpath(os.path.join(directory, c)), out)
    apply_patches(out, k.get("patches"), directory)
    return out


def key(o):
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


def with_component(overlay, component, tmp):
    """A kustomization directory: the overlay plus one component."""
    if component is None:
        return os.path.join(HERE, "overlays", overlay)
    d = os.path.join(tmp, f"{overlay}-{component}")
    os.makedirs(d)
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(os.path.join(HERE, "overlays", overlay), d)],
                "components": [os.path.relpath(os.path.join(HERE, "components", component), d)],
            },
            f,
        )
    return d


def check_daemonset(objs, overlay, component, findings):
    where = f"{overlay}+{component or 'base'}"
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    spec = ds["spec"]["template"]["spec"]
    c = spec["containers"][0]
    args = c["args"]
    volumes = {v["name"]: v["hostPath"]["path"] for v in spec["volumes"]}
    config, runtime = OVERLAYS[overlay]
    want_action = {"evict": "evict", "kill": "kill"}.get(component, "none")
    flags = [a.split("=")[0] for a in args]
    expect = [
        (volumes["kubelet-config"] == config, f"kubelet config {volumes['kubelet-config']}, want {config}"),
        (volumes["imagefs"] == runtime, f"runtime root {volumes['imagefs']}, want {runtime}"),
        (f"--action={want_action}" in args, f"args {args}: want --action={want_action}"),
        (len(flags) == len(set(flags)), f"args {args}: a flag given twice (clap refuses it)"),
        (("--events=on" in args) == (component in ("events", "evict", "kill")), f"args {args}: --events"),
        (
            ("--config-from=api,file,defaults" in args) == (component == "configz"),
            f"args {args}: --config-from",
        ),
        (c["securityContext"]["allowPrivilegeEscalation"] is False, "allowPrivilegeEscalation"),
        (spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", "seccomp"),
        (spec["nodeSelector"].get("kubernetes.io/os") == "linux", "nodeSelector"),
        (spec["priorityClassName"] == "system-node-critical", "priorityClassName"),
        (
            c["securityContext"]["capabilities"].get("add", []) == (["KILL"] if component == "kill" else []),
            f"capabilities {c['securityContext']['capabilities']}",
        ),
        (all(p in c for p in ("livenessProbe", "readinessProbe")), "probes"),
    ]
    for ok, what in expect:
        if not ok:
            findings.append(f"{where}: {what}")
    ns = next(o for o in objs if o["kind"] == "Namespace")
    if ns["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") != "privileged":
        findings.append(f"{where}: namespace Pod Security label")


def check_args_parse(objs, binary, where, findings):
    """The binary accepts the DaemonSet's flags: with --once it stops at the first check that
    needs the node, the --root mount (absent here)."""
    ds = next(o for o in objs if o["kind"] == "DaemonSet")
    args = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["NODE_NAME"] = "node-a"
    env["HEADROOM_LOG"] = "error"
    env["KUBECONFIG"] = "/nonexistent"
    run = subprocess.run([binary, *args, "--once"], capture_output=True, text=True, env=env, timeout=60)
    if run.returncode != 2 or "--root /host" not in run.stderr:
        findings.append(f"{where}: headroom {' '.join(args)} --once: exit {run.returncode}: {run.stderr.strip()}")


def main():
    findings = []
    kubectl = shutil.which("kubectl")
    rendered = 0
    with tempfile.TemporaryDirectory() as tmp:
        for overlay in OVERLAYS:
            for component in COMPONENTS:
                d = with_component(overlay, component, tmp)
                where = f"{overlay}+{component or 'base'}"
                objs = render(d)
                rendered += 1
                for o in objs:
                    for v in VERSIONS:
                        try:
                            kubernetes_validate.validate(copy.deepcopy(o), v, strict=True)
                        except kubernetes_validate.ValidationError as e:
                            findings.append(f"{where}: {key(o)} against {v}: {e.message} at {list(e.path)}")
                check_daemonset(objs, overlay, component, findings)
                if os.environ.get("HEADROOM_BIN"):
                    check_args_parse(objs, os.environ["HEADROOM_BIN"], where, findings)
                if kubectl:
                    real = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True)
                    if real.returncode != 0:
                        findings.append(f"{where}: kubectl kustomize failed: {real.stderr.strip()}")
                        continue
                    theirs = {key(o): o for o in yaml.safe_load_all(real.stdout) if o}
                    mine = {key(o): o for o in objs}
                    if theirs != mine:
                        diff = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
                        findings.append(f"{where}: this renderer and kubectl kustomize differ on {diff}")
    for f in findings:
        print(f"FAIL {f}")
    print(
        f"{rendered} renderings (4 overlays x base and 4 components) validated against "
        f"Kubernetes {', '.join(VERSIONS)} (strict); "
        + ("compared with kubectl kustomize" if kubectl else "kubectl not found: not compared with kustomize")
        + ("; arguments parsed by " + os.environ["HEADROOM_BIN"] if os.environ.get("HEADROOM_BIN") else "")
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
