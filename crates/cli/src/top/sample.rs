//! One refresh of the live view: the host (live or `--root`) read through status's collection,
//! and the status report built from it by `status::build`, so `top` shows exactly the numbers
//! and decisions `headroom status` prints.

use std::path::PathBuf;

use headroom_core::config::EvictionConfig;
use headroom_core::lint::Warning;
use headroom_core::pod::Pod;

use crate::cmd::summary::SourceArgs;
use crate::status::build::build;
use crate::status::input::{MemorySplit, Source, StatusInput};
use crate::status::report::StatusReport;

/// What `top` reads on every refresh, and what it read once at start (config, pods file).
pub struct Sampler {
    source: SourceArgs,
    eviction: EvictionConfig,
    config_origin: Option<String>,
    config_warnings: Vec<Warning>,
    pods: Option<Vec<Pod>>,
    pods_origin: Option<String>,
}

/// One refresh: the report and the memory splits the page-cache section draws.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub report: StatusReport,
    /// The root cgroup (the node's figures).
    pub node: MemorySplit,
    /// The pods cgroup (the allocatable signal's figures), when found: (path, split).
    pub pods_cgroup: Option<(String, MemorySplit)>,
}

impl Sampler {
    /// Read the kubelet config and the pods file once (a bad one is bad input, exit 2).
    pub fn new(
        source: SourceArgs,
        config: Option<&std::path::Path>,
        pods: Option<&PathBuf>,
    ) -> anyhow::Result<Sampler> {
        let (eviction, config_origin, config_warnings) = crate::cmd::status::load_config(config)?;
        let (pods, pods_origin) = match pods {
            Some(path) => (
                Some(crate::cmd::status::load_pods(path)?),
                Some(crate::cmd::shown_path(path)),
            ),
            None => (None, None),
        };
        Ok(Sampler {
            source,
            eviction,
            config_origin,
            config_warnings,
            pods,
            pods_origin,
        })
    }

    /// Read the host once and build the report with every pod in the eviction order.
    pub fn sample(&self) -> anyhow::Result<Snapshot> {
        let (summary, host) = crate::status::host::collect(&self.source)?;
        let source = match &self.source.root {
            Some(root) => Source::Root(root.display().to_string()),
            None => Source::Live,
        };
        let node = host.node.clone();
        let pods_cgroup = host
            .pods_cgroup
            .as_ref()
            .map(|p| (p.path.clone(), p.memory.clone()));
        let input = StatusInput {
            source,
            summary,
            pods: self.pods.clone(),
            pods_origin: self.pods_origin.clone(),
            eviction: self.eviction.clone(),
            config_origin: self.config_origin.clone(),
            config_warnings: self.config_warnings.clone(),
            host: Some(host),
        };
        // Every pod: the list scrolls.
        let report = build(&input, usize::MAX);
        Ok(Snapshot {
            report,
            node,
            pods_cgroup,
        })
    }
}
