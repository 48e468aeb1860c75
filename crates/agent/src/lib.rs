//! headroom-agent: the kubelet's eviction loop on live data, woken by kernel notifications.

pub mod actuator;
pub mod config;
pub mod configz;
pub mod events;
pub mod http;
pub mod light;
pub mod metrics;
pub mod oom_kills;
pub mod pod_series;
pub mod pods_api;
pub mod pods_source;
pub mod report;
pub mod runner;
pub mod sd_notify;
