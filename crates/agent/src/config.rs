//! The agent's settings, as the CLI hands them over (already validated).

use crate::actuator::Action;
use crate::report::LogFormat;
use headroom_core::config::EvictionConfig;
use headroom_linux::root::HostRoot;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default period between synchronize passes: the kubelet's eviction monitoring interval.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(10);
/// Default `--listen` address: loopback only, Prometheus' exporter port range.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The eviction settings from the kubelet's own config.
    pub eviction: EvictionConfig,
    /// Where the kubelet config came from (for logs).
    pub config_origin: String,
    pub period: Duration,
    /// Arm kernel notifications (v1 usage thresholds, v2 memory.events, PSI) for immediate syncs.
    pub notifications: bool,
    pub action: Action,
    /// `--policy`: the kubelet's (default) or reclaim-first (docs/reclaim-first.md).
    pub policy: headroom_core::reclaim::Policy,
    pub pods_file: Option<PathBuf>,
    /// `--pods-from api`: list this node's pods (the node name) from the API server every
    /// `period` (feature `k8s`; without it the runner refuses to start).
    pub pods_api_node: Option<String>,
    /// The pod cgroup root (`/kubepods`), relative to the memory hierarchy root.
    pub pod_cgroup_root: String,
    pub root: HostRoot,
    pub log_format: LogFormat,
    /// `None`: no HTTP server.
    pub listen: Option<SocketAddr>,
    /// One pass, then exit.
    pub once: bool,
    /// Stop after this many passes (tests and benchmarks); `None` = run forever.
    pub max_passes: Option<u64>,
}
