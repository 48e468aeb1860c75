//! `headroom cluster`: one row per node, from the same report `headroom status` builds.
//!
//! * [`row`]: a node's [`crate::status::report::StatusReport`] (or why there is none) -> one
//!   [`row::NodeRow`], and the risk order of the rows;
//! * [`table`]: the rows as a text table or one JSON document.
//!
//! The API reading itself is the `headroom-cluster` crate; `cmd/cluster.rs` joins the two.
//!
//! # JSON document (`headroom cluster --format json`)
//!
//! `{nodes: [...], unreachable: N, total: N}`, the nodes in risk order. Each node:
//!
//! | key | content |
//! | --- | --- |
//! | `node` | node name |
//! | `state` | `ok`, `unreachable` (a request got no document) or `badAnswer` (a document was not what it should be) |
//! | `error` | for the last two: which document, the request, what went wrong |
//! | `memoryPressureReported` | the node object's `MemoryPressure` condition (`True`, `False`, `Unknown`, null) |
//! | `memoryPressureNow` | headroom's reading: a memory threshold is met in this Summary |
//! | `memoryAvailableBytes`, `capacityBytes` | the kubelet's `memory.available` observation |
//! | `threshold` | the memory threshold in force: `{signal, value ("100Mi", "10%"), hard, gracePeriod, thresholdBytes}`: the one the kubelet acts on when one is met, else the nearest |
//! | `headroomBytes`, `headroomPercent` | available - threshold for that threshold, and as % of its capacity (negative = met) |
//! | `pageCacheShare` | (working set - rss) / working set of the node: the part of the working set that is not anonymous memory (active page cache, shmem, kernel memory), 0..1 |
//! | `firstEviction` | `{pod, qos, placedBy, why}`: the first non-critical pod of the kubelet's memory ranking, or null |
//! | `pods` | pods ranked |
//! | `verdict` | `headroom status`'s one-sentence answer |

pub mod row;
pub mod table;
