//! Arming the early warnings after a pass: memcg usage thresholds (v1), `memory.events` and
//! PSI triggers (v2), the node PSI trigger, and the adaptive usage re-reads.

use super::Runner;
use crate::usage_poll;
use crate::warning::{self, Mechanism};
use headroom_core::notifier;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_linux::layout::CgroupMode;
use headroom_linux::notify::{MemoryEventsWatch, Watch};
use std::path::PathBuf;
use std::time::Duration;

/// PSI trigger asked for (some 100 ms stall in 1 s); widened to 2 s windows without
/// CAP_SYS_RESOURCE.
const PSI_STALL: Duration = Duration::from_millis(100);
const PSI_WINDOW: Duration = Duration::from_secs(1);
/// PSI trigger on the pod cgroup root's `memory.pressure` (cgroup v2): reclaim stalls at its
/// limit are short, so a small stall in the shortest window the kernel allows.
const PSI_PODS_STALL: Duration = Duration::from_millis(50);
const PSI_PODS_WINDOW: Duration = Duration::from_millis(500);

impl Runner {
    /// The pod cgroup root's directory in the memory hierarchy.
    pub(super) fn pods_cgroup(&self) -> PathBuf {
        self.memory_root
            .join(self.cfg.pod_cgroup_root.trim_start_matches('/'))
    }

    /// Open (once) and re-aim the adaptive re-reads of the pods cgroup usage.
    fn arm_usage_poll(&mut self, summary: &Summary, met_this_pass: bool) {
        if self.usage_poll.is_none() {
            let file = if self.mode == CgroupMode::Unified {
                "memory.current"
            } else {
                "memory.usage_in_bytes"
            };
            let path = self.pods_cgroup().join(file);
            self.usage_poll = warning::open_usage_poll(&mut self.mechanisms, &self.shared.metrics, &path);
        }
        if self.hot_files.is_none() && self.prepares_kills() {
            let dir = self.pods_cgroup();
            match crate::prepared_kill::HotFiles::open(&dir) {
                Ok(h) => self.hot_files = Some(h),
                Err(e) => {
                    let msg = format!(
                        "prepared kills off: cannot keep {}'s memory.stat, memory.current and \
                         memory.max open ({e}); a crossing takes the fast pass",
                        dir.display()
                    );
                    // Once per distinct problem, not on every pass.
                    if self.arm_errors.insert(msg.clone()) {
                        tracing::warn!("{msg}");
                    }
                }
            }
        }
        let trip_at =
            usage_poll::pods_trip_at(&self.cfg.eviction.thresholds, summary, &self.cfg.pod_cgroup_root);
        // From the trip value to the OOM kill: up to the limit, plus the page cache the
        // kernel reclaims first (an over-estimate: the safe side, see `defensible_rate`).
        let margin = match (trip_at, self.pods_limit_file) {
            (Some(trip), Some((limit, file))) if limit <= headroom_linux::memcg::UNLIMITED_ABOVE => {
                Some(limit.saturating_sub(trip).saturating_add(file))
            }
            _ => None,
        };
        let defensible = margin
            .zip(self.reaction_floor)
            .and_then(|(m, r)| usage_poll::defensible_rate(m, r));
        if let Some(p) = self.usage_poll.as_mut() {
            if let Some(rate) = p.set_defensible(defensible) {
                let mib = |b: f64| b / (1u64 << 20) as f64;
                tracing::info!(
                    "usage re-reads: timed for growth up to {:.0} MiB/s (growth bound {:.0} MiB/s; \
                     faster growth covers the {:.0} MiB from the trip value to the OOM kill \
                     before the fastest pod-level read timed, {:?}, so no read could stop it)",
                    mib(rate),
                    mib(p.bound()),
                    mib(margin.unwrap_or(0) as f64),
                    self.reaction_floor.unwrap_or_default()
                );
            }
            p.rearm(trip_at, met_this_pass, self.clock.now());
        }
    }

    /// Arm (or re-arm) the kernel notifications from this pass's Summary.
    pub(super) fn arm_notifications(&mut self, summary: &Summary, met: &[Signal]) {
        if self.mode != CgroupMode::Unified {
            let arms = notifier::arm_all(&self.cfg.eviction.thresholds, summary, &self.cfg.pod_cgroup_root);
            for arm in arms {
                let arm = match arm {
                    Ok(a) => a,
                    Err(e) => {
                        // Once per distinct problem, not on every pass.
                        let msg = e.to_string();
                        if self.arm_errors.insert(msg.clone()) {
                            tracing::warn!("memcg notifier not armed: {msg}");
                        }
                        continue;
                    }
                };
                let Ok(bytes) = u64::try_from(arm.arm_at_bytes) else {
                    continue;
                };
                if self.armed.get(&arm.description) == Some(&bytes) {
                    continue;
                }
                let cgroup = self.memory_root.join(arm.cgroup.trim_start_matches('/'));
                let mechanism = if arm.signal == Signal::AllocatableMemoryAvailable {
                    Mechanism::MemcgThresholdPods
                } else {
                    Mechanism::MemcgThresholdNode
                };
                let met_this_pass = met.contains(&arm.signal);
                match warning::rearm_usage_threshold(
                    &mut self.notifier,
                    &arm.description,
                    &cgroup,
                    bytes,
                    met_this_pass,
                ) {
                    Ok(r) => {
                        tracing::debug!("armed {}: {}", arm.description, r.detail);
                        if r.catch_up {
                            tracing::info!(
                                "{}: crossed while the pass ran (usage after re-arm at {bytes}: {:?}; \
                                 unread on the replaced watch: {:?}): passing again at once",
                                arm.description,
                                r.crossed_before_armed,
                                r.replaced_pending
                            );
                            self.shared
                                .metrics
                                .inc_notification(&arm.description, "crossed_during_pass");
                            self.catch_up = true;
                        }
                        self.mechanisms.armed(mechanism, &r.detail, &self.shared.metrics);
                        self.shared
                            .metrics
                            .set_notifier_armed(&arm.description, bytes as f64);
                        self.armed.insert(arm.description.clone(), bytes);
                    }
                    Err(e) => {
                        let msg = format!("{}: {e}", arm.description);
                        if self.arm_errors.insert(msg.clone()) {
                            tracing::warn!("{msg} (periodic passes continue)");
                        }
                        self.mechanisms.refused(mechanism, &msg, &self.shared.metrics);
                        self.armed.remove(&arm.description);
                        self.notifier.remove(&arm.description);
                    }
                }
            }
        } else if self.notifier.get("pods memory.events").is_none() {
            let path = self.pods_cgroup().join("memory.events");
            match MemoryEventsWatch::watch(&path) {
                Ok(w) => {
                    let detail = format!("inotify on {}", path.display());
                    self.mechanisms
                        .armed(Mechanism::MemoryEventsPods, &detail, &self.shared.metrics);
                    self.notifier.set("pods memory.events", Watch::Events(w));
                }
                Err(e) => {
                    self.mechanisms
                        .refused(Mechanism::MemoryEventsPods, &e.to_string(), &self.shared.metrics)
                }
            }
        }
        if self.mode == CgroupMode::Unified && !self.psi_pods_tried {
            self.psi_pods_tried = true;
            let pressure = self.pods_cgroup().join("memory.pressure");
            warning::arm_psi(
                &mut self.mechanisms,
                &mut self.notifier,
                &self.shared.metrics,
                "psi pods",
                Mechanism::PsiPods,
                &pressure,
                PSI_PODS_STALL,
                PSI_PODS_WINDOW,
            );
        }
        if self.mode == CgroupMode::Unified || self.mechanisms.is_refused(Mechanism::MemcgThresholdPods) {
            self.arm_usage_poll(summary, met.contains(&Signal::AllocatableMemoryAvailable));
        }
        if !self.psi_tried {
            self.psi_tried = true;
            let path = self.cfg.root.path("/proc/pressure/memory");
            warning::arm_psi(
                &mut self.mechanisms,
                &mut self.notifier,
                &self.shared.metrics,
                "psi",
                Mechanism::PsiNode,
                &path,
                PSI_STALL,
                PSI_WINDOW,
            );
        }
    }
}
