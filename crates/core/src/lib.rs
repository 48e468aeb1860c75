//! headroom-core: the kubelet's node-pressure eviction manager as pure functions.
//!
//! Nothing in this crate touches the filesystem, the clock or threads: configuration text
//! comes in as strings, node statistics as a parsed [`summary::Summary`], pods as parsed
//! [`pod::Pod`]s and time as a [`jiff::Timestamp`] value. The pipeline is
//! `config -> thresholds`, `summary -> observations`,
//! `synchronize(state, inputs, now) -> decision`.

pub mod admission;
pub mod allocatable;
pub mod config;
mod config_file;
mod config_flags;
pub mod duration;
pub mod go_float;
pub mod lint;
pub mod local_storage;
pub mod manager;
pub mod message;
pub mod notifier;
pub mod observe;
pub mod pod;
pub mod prepared;
pub mod quantity;
pub mod rank;
pub mod reclaim;
pub mod signal;
pub mod summary;
pub mod text;
pub mod threshold;
pub mod timeline;
pub mod view;

pub use jiff::Timestamp;
