//! headroom-agent: the kubelet's eviction loop on live data, woken by kernel notifications.

pub mod actuator;
pub mod config;
pub mod http;
pub mod light;
pub mod metrics;
pub mod pods_api;
pub mod pods_source;
pub mod report;
pub mod runner;
pub mod usage_poll;
pub mod warning;
