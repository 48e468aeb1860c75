//! `headroom status`: why is (or isn't) this node under MemoryPressure?
//!
//! * [`input`]: what the report is computed from (Summary, pods, eviction config, and what the
//!   kernel files add when they were read);
//! * [`build`]: input -> [`report::StatusReport`], pure;
//! * [`text`] and [`json`]: the two views of one report;
//! * [`verdict`]: the answer; [`cause`]: active page cache or anonymous memory;
//!   [`advice`]: what to do about it; [`order`]: the eviction order.
//!
//! # JSON document (`headroom status --format json`)
//!
//! One object, camelCase keys, byte values as integers (`...Bytes`), threshold values also as
//! quantity strings. Absent knowledge is `null`, never a guess.
//!
//! | key | content |
//! | --- | --- |
//! | `nodeName` | the Summary's node name |
//! | `time` | node memory sample time (RFC 3339) or null |
//! | `source` | `{kind: live\|root\|summary, path, layout, pods: podsFile\|cgroups\|summary\|none, podsPath, config}` (`config` null = kubelet defaults) |
//! | `nodeMemory` | `{capacityBytes, usageBytes, workingSetBytes, inactiveFileBytes, split, free}`; `split` = `{anonBytes, cacheBytes, activeFileBytes, inactiveFileBytes, shmemBytes, kernelBytes}` and `free` = `{totalBytes, usedBytes, freeBytes, sharedBytes, buffCacheBytes, availableBytes}` are null with `--summary` |
//! | `kubelet` | `{memoryAvailable, allocatableMemoryAvailable}`, each null when unobserved or `{signal, cgroup, capacityBytes, usageBytes, inactiveFileBytes, workingSetBytes, availableBytes}` |
//! | `podsCgroup` | `{found, path, searched: [paths looked at], limitBytes}` |
//! | `thresholds[]` | `{signal, condition, hard, gracePeriod ("0s", "1m30s"), value ("100Mi", "10%"), unit (bytes\|inodes\|pids), threshold (resolved integer), thresholdQuantity, observed, available, capacity, headroom (available - threshold), headroomPercent (of capacity), met, unobservedReason}` |
//! | `conditions` | node conditions the met thresholds set now, e.g. `["MemoryPressure"]` (soft thresholds set theirs before their grace period ends) |
//! | `actingThreshold` | index into `thresholds` of the met threshold the kubelet acts on first (its reclaim order), or null |
//! | `evictionOrder` | `{rule, total, requestsKnown, pods[], evictedUid}` (`evictedUid`: the pod the eviction manager's sync evicts now, or null); each pod `{rank, namespace, name, uid, qos, priority, requestBytes, workingSetBytes, overRequestBytes, exceedsRequest, placedBy, placedByRule, critical, activeFileBytes, activeFilePercent, activeFileEstimated, limitBytes}`; `placedBy` is the comparator that put the pod ahead of the next one: `missingStats`, `exceedsRequest`, `priority`, `usageOverRequest`, `tie` or `last`; unknown values (no `--pods`) are null |
//! | `cause` | `{kind: activePageCache\|anonymousMemory\|none\|unknown, signal, thresholdBytes, memory, availableBytes, availableWithoutActiveFileBytes, firstPod: {rank, pod, memory}, free: {kubeletUsedBytes, freeUsedBytes, usedDifferenceBytes, kubeletAvailableBytes, freeAvailableBytes}}`; each `memory` = `{workingSetBytes, activeFileBytes, otherBytes, activeFilePercent, estimated}` (`estimated`: from a Summary, working set - rssBytes) |
//! | `advice[]` | `{code, text, place, config}`: what to do, chosen by the cause (empty without pressure) |
//! | `verdict` | the answer in a few sentences |
//! | `notes[]` | what is unknown and why |
//! | `configWarnings[]` | `{code, message}` lint findings for the `--config` file (empty without it) |
//! | `skipped[]` | what the collection skipped (`path: reason`) |
//! | `skips[]` | the same, typed: `{path, code, reason}`, `code` stable (absent when nothing was skipped) |
//! | `policy` | `--policy` (`kubelet`, `reclaim-first`); absent without the flag |
//! | `policyVerdicts` | with `--policy` only: `{agree, kubelet: {evictedUid, evictedPod}, reclaimFirst: {evictedUid, evictedPod}, reclaim, basis, fallback, text}`; `reclaim` is the sync step's reclaim object (docs/sync-step.md: `plan`, `because`, `message`, `shortfallBytes`, `reclaimableBytes`, `askedBytes`, `reclaimedBytes`); `basis` where the pods cgroup's cache figures came from (`kernelSplit`, `podsContainer`, `podSum`, null); `fallback` why reclaim-first cannot reclaim here (cgroup v1), else null; `text` both verdicts in words |

pub mod advice;
pub mod build;
pub mod cause;
pub mod decision;
pub mod host;
pub mod input;
pub mod json;
pub mod order;
pub mod policy;
pub mod report;
pub mod text;
pub mod units;
pub mod verdict;
