//! headroom-agent: the kubelet's eviction loop on live data, woken by kernel notifications.

mod acted;
pub mod actuator;
pub mod config;
pub mod configz;
pub mod events;
pub mod fast_pass;
pub mod growth_bound;
mod health;
pub mod http;
pub mod http_listener;
pub mod kill_deadline;
pub mod light;
pub mod log_writer;
pub mod metrics;
mod oom_kills;
mod pod_series;
pub mod pods_api;
pub mod pods_list;
pub mod pods_source;
pub mod reclaim_first;
pub mod reclaim_metrics;
pub mod recording;
pub mod report;
pub mod runner;
mod sd_notify;
pub mod usage_poll;
pub mod warning;
