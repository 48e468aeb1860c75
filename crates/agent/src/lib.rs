//! headroom-agent: the kubelet's eviction loop on live data, woken by kernel notifications.

pub mod actuator;
pub mod config;
pub mod http;
pub mod light;
pub mod metrics;
pub mod pods_api;
pub mod pods_source;
pub mod recording;
pub mod report;
pub mod runner;
