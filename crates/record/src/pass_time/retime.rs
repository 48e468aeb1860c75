//! Moving a typed pod read at one pass to the next pass's time, for a pod whose stored leaves
//! did not change between the two: replay then copies its figures instead of deserializing
//! them again (two thirds of the pods of a busy node are idle at any pass).
//!
//! In the stored tree such a pod's times are marks ([`super::MARK`], [`super::MARK_SECOND`]),
//! read as the pass time (exact, or in whole seconds); read at an earlier pass they became
//! that pass's time, so every figure equal to that pass's time takes the new pass's. This is
//! exact: a stored string equal to a pass time was marked when it was written (`mark`
//! compares with the same texts the reader puts back), so an unmarked string never equals
//! one; stored times are the recorder's own serialization of a `Timestamp`, one text per
//! instant, so an unmarked time never parses to one either.
//!
//! The structs are taken apart field by field without `..`: a field added to the Summary
//! in core does not compile here until it is handled.

use headroom_core::Timestamp;
use headroom_core::summary::{
    ContainerStats, FsStats, MemoryStats, PodReference, PodStats, ProcessStats, SwapStats, VolumeStats,
};
use serde_json::Value;

use super::PassTexts;

/// From the pass a pod was read at to the pass it is reused for (of the same recording:
/// both have the whole-second mark or neither has).
pub struct Retime<'a> {
    pub from: &'a PassTexts,
    pub to: &'a PassTexts,
}

impl Retime<'_> {
    pub fn pod(&self, pod: &mut PodStats) {
        let PodStats {
            pod_ref,
            start_time,
            containers,
            cpu,
            memory,
            swap,
            network,
            volume,
            ephemeral_storage,
            process_stats,
            io,
        } = pod;
        let PodReference { name, namespace, uid } = pod_ref;
        self.text(name);
        self.text(namespace);
        self.text(uid);
        self.time(start_time);
        containers.iter_mut().for_each(|c| self.container(c));
        self.boxed_value(cpu);
        self.memory(memory);
        self.swap(swap);
        self.boxed_value(network);
        for v in volume.iter_mut().flatten() {
            let VolumeStats { fs, name, pvc_ref } = v;
            self.fs(fs);
            self.text(name);
            self.value(pvc_ref);
        }
        if let Some(fs) = ephemeral_storage {
            self.fs(fs);
        }
        if let Some(p) = process_stats {
            let ProcessStats { process_count: _ } = p.as_mut();
        }
        self.boxed_value(io);
    }

    fn container(&self, c: &mut ContainerStats) {
        let ContainerStats {
            name,
            start_time,
            cpu,
            memory,
            swap,
            accelerators,
            rootfs,
            logs,
            user_defined_metrics,
            io,
        } = c;
        self.text(name);
        self.time(start_time);
        self.boxed_value(cpu);
        self.memory(memory);
        self.swap(swap);
        self.boxed_value(accelerators);
        for fs in [rootfs, logs].into_iter().flatten() {
            self.fs(fs);
        }
        self.boxed_value(user_defined_metrics);
        self.boxed_value(io);
    }

    fn memory(&self, m: &mut Option<MemoryStats>) {
        if let Some(MemoryStats {
            time,
            available_bytes: _,
            usage_bytes: _,
            working_set_bytes: _,
            rss_bytes: _,
            page_faults: _,
            major_page_faults: _,
            psi: _,
        }) = m
        {
            self.time(time);
        }
    }

    fn swap(&self, s: &mut Option<SwapStats>) {
        if let Some(SwapStats {
            time,
            swap_available_bytes: _,
            swap_usage_bytes: _,
        }) = s
        {
            self.time(time);
        }
    }

    fn fs(&self, fs: &mut FsStats) {
        let FsStats {
            time,
            available_bytes: _,
            capacity_bytes: _,
            used_bytes: _,
            inodes_free: _,
            inodes: _,
            inodes_used: _,
        } = fs;
        self.time(time);
    }

    /// The exact time first: when it is a whole second, the recorder marked it as exact.
    fn time(&self, t: &mut Option<Timestamp>) {
        let Some(time) = t else { return };
        if *time == self.from.time {
            *time = self.to.time;
        } else if let (Some((from, _)), Some((to, _))) = (&self.from.second, &self.to.second)
            && time == from
        {
            *time = *to;
        }
    }

    fn text(&self, s: &mut String) {
        if *s == self.from.exact {
            self.to.exact.clone_into(s);
        } else if let (Some((_, from)), Some((_, to))) = (&self.from.second, &self.to.second)
            && s == from
        {
            to.clone_into(s);
        }
    }

    fn boxed_value(&self, v: &mut Option<Box<Value>>) {
        if let Some(v) = v {
            self.walk(v);
        }
    }

    fn value(&self, v: &mut Option<Value>) {
        if let Some(v) = v {
            self.walk(v);
        }
    }

    fn walk(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.walk(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.walk(i)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::pass_time::{from_marked, mark};
    use serde_json::json;

    /// Every field of a pod that can hold the pass time, as a kubelet would fill it.
    fn full_pod(t: &str) -> Value {
        let fs = json!({"time": t, "availableBytes": 1, "capacityBytes": 2, "usedBytes": 1,
                        "inodesFree": 5, "inodes": 9, "inodesUsed": 4});
        let mem = json!({"time": t, "availableBytes": 1, "usageBytes": 2, "workingSetBytes": 3,
                         "rssBytes": 4, "pageFaults": 5, "majorPageFaults": 6,
                         "psi": {"full": {"total": 1, "avg10": 0.5, "avg60": 0.0, "avg300": 0.0},
                                 "some": {"total": 2, "avg10": 0.0, "avg60": 0.0, "avg300": 0.0}}});
        let cpu = json!({"time": t, "usageNanoCores": 7, "nested": [t, {"at": t}]});
        let swap = json!({"time": t, "swapAvailableBytes": 1, "swapUsageBytes": 2});
        json!({
            "podRef": {"name": t, "namespace": "ns", "uid": "u"},
            "startTime": t,
            "containers": [{"name": "c", "startTime": t, "cpu": cpu, "memory": mem, "swap": swap,
                            "accelerators": [{"t": t}], "rootfs": fs, "logs": fs,
                            "userDefinedMetrics": [{"time": t}], "io": {"time": t}}],
            "cpu": cpu, "memory": mem, "swap": swap, "network": {"time": t, "name": "eth0"},
            "volume": [{"time": t, "availableBytes": 1, "name": "v", "pvcRef": {"name": t}}],
            "ephemeral-storage": fs, "process_stats": {"process_count": 3},
            "io": {"time": t}
        })
    }

    #[test]
    fn a_reused_pod_reads_as_one_read_at_the_new_time() {
        let (t1, t2) = ("2026-01-01T00:00:10.5Z", "2026-01-01T00:00:20.000000001Z");
        for seconds in [true, false] {
            let (a, b) = (
                PassTexts::new(t1.parse().unwrap(), seconds),
                PassTexts::new(t2.parse().unwrap(), seconds),
            );
            // Stored at pass 1: every time marked (the stats times in whole seconds); one
            // unmarked older time stays as it is.
            let mut stored = full_pod(t1);
            stored["memory"]["time"] = json!("2026-01-01T00:00:10Z");
            stored["containers"][0]["swap"]["time"] = json!("2026-01-01T00:00:10Z");
            stored["containers"][0]["startTime"] = json!("2025-06-01T00:00:00Z");
            mark(&mut stored, &a);
            let mut reused: PodStats = from_marked(&stored, &a).unwrap();
            Retime { from: &a, to: &b }.pod(&mut reused);
            let read: PodStats = from_marked(&stored, &b).unwrap();
            assert_eq!(reused, read);
            assert_eq!(
                reused.containers[0].start_time,
                Some("2025-06-01T00:00:00Z".parse().unwrap())
            );
            assert_eq!(reused.pod_ref.name, t2);
            let memory_time = reused.memory.as_ref().and_then(|m| m.time).unwrap().to_string();
            assert_eq!(
                memory_time,
                if seconds {
                    "2026-01-01T00:00:20Z"
                } else {
                    "2026-01-01T00:00:10Z"
                }
            );
        }
    }
}
