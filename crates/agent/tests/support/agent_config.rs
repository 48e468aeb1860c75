//! An agent configuration for a fake host tree at `root`, the way the agent's tests build one:
//! the kubelet configuration given as YAML, pod cgroup root `/kubepods`, no pods file, no HTTP,
//! one pass, notifications off. Tests change the fields they care about.
#![allow(dead_code)]

use headroom_agent::config::AgentConfig;
use headroom_core::config::KubeletConfig;
use headroom_linux::root::HostRoot;
use std::path::Path;
use std::time::Duration;

pub fn agent_config(root: &Path, kubelet_yaml: &str) -> AgentConfig {
    let kubelet = KubeletConfig::parse(kubelet_yaml, "kubelet.yaml").unwrap();
    AgentConfig {
        eviction: kubelet.eviction().unwrap(),
        config_origin: "kubelet.yaml".into(),
        period: Duration::from_secs(10),
        notifications: false,
        action: Default::default(),
        policy: Default::default(),
        pods_file: None,
        pods_api_node: None,
        pod_cgroup_root: "/kubepods".into(),
        root: HostRoot::dir(root),
        log_format: Default::default(),
        listen: None,
        once: true,
        max_passes: Some(1),
    }
}
