//! headroom-agent: the kubelet's eviction loop on live data, woken by kernel notifications.

pub mod acted;
pub mod actuator;
pub mod config;
pub mod configz;
pub mod events;
pub mod fast_pass;
pub mod growth_bound;
pub mod health;
pub mod http;
pub mod http_listener;
pub mod kill_deadline;
pub mod light;
pub mod log_writer;
pub mod metrics;
pub mod oom_kills;
pub mod pod_series;
pub mod pods_api;
pub mod pods_source;
pub mod recording;
pub mod report;
pub mod runner;
pub mod sd_notify;
pub mod usage_poll;
pub mod warning;
