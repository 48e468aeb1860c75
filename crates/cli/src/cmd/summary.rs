//! `headroom summary`: this node's kubelet-compatible Summary JSON (`GET /stats/summary`),
//! computed from the kernel files the kubelet's cAdvisor reads.

use anyhow::Context as _;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use headroom_linux::capture::{self, CaptureError, OpenedRoot};
use headroom_linux::collect::{CollectError, CollectOptions};

use super::bad_input;

/// Where to read from; shared by `summary` and `capture`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SourceArgs {
    /// Read a captured tree instead of this host: a directory made by `headroom capture`
    /// (or any tree with proc/ and sys/fs/cgroup/), or its .tar.gz.
    #[arg(long, value_name = "DIR|FILE.tar.gz")]
    pub root: Option<PathBuf>,
    /// The kubelet's pod cgroup root as a cgroup name, e.g. /kubepods or /kubepods.slice.
    /// Default: kubepods if it exists, else kubepods.slice.
    #[arg(long, value_name = "PATH")]
    pub pod_cgroup_root: Option<String>,
    /// Filesystem of the kubelet's root dir, for nodefs.* signals.
    #[arg(long, value_name = "PATH", default_value = "/var/lib/kubelet")]
    pub nodefs: PathBuf,
    /// Filesystem of the container runtime's images, for imagefs.* signals. Default: the first
    /// that exists of /var/lib/containerd, /var/lib/containers/storage, /var/lib/docker.
    #[arg(long, value_name = "PATH")]
    pub imagefs: Option<PathBuf>,
    /// Node name to put in the Summary (default: the host's hostname).
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
}

/// Whether reading an archive failed because it ends early (a partial copy or download):
/// gzip's "incomplete deflate stream", or an end of file inside the tar stream.
fn is_truncation(err: &std::io::Error) -> bool {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        return true;
    }
    let text = with_causes(err).to_lowercase();
    [
        "incomplete deflate stream",
        "unexpected end of file",
        "unexpected eof",
    ]
    .iter()
    .any(|m| text.contains(m))
}

impl SourceArgs {
    /// Open `--root` (unpacking an archive) and build the collection options.
    pub fn open(&self) -> anyhow::Result<(OpenedRoot, CollectOptions)> {
        let opened = capture::open_root(self.root.as_deref()).map_err(|e| match e {
            CaptureError::Io { path, source } if path.is_file() && is_truncation(&source) => {
                bad_input(format!(
                    "--root {}: the archive is truncated (it ends in the middle: {}); copy it \
                     again whole, or capture again",
                    path.display(),
                    with_causes(&source)
                ))
            }
            CaptureError::Io { path, source } if path.is_file() => bad_input(format!(
                "--root {}: not a .tar.gz made by `headroom capture` ({}); expected such an \
                 archive or a directory",
                path.display(),
                with_causes(&source)
            )),
            CaptureError::Io { path, source } => bad_input(format!(
                "--root {}: cannot open it ({source}); expected a directory made by `headroom \
                 capture` or its .tar.gz",
                path.display()
            )),
            other => anyhow::Error::new(other),
        })?;
        let opts = CollectOptions {
            root: opened.root.clone(),
            pod_cgroup_root: self.pod_cgroup_root.clone(),
            nodefs: Some(self.nodefs.clone()),
            imagefs: self.imagefs.clone(),
            node_name: self.node_name.clone(),
            keep_stat_maps: false,
            kubelet_psi_off: false,
        };
        Ok((opened, opts))
    }
}

/// An io error and what it wraps: tar reports "failed to iterate over archive" and keeps the
/// useful part ("invalid gzip header", "unexpected end of file") one level down.
fn with_causes(err: &std::io::Error) -> String {
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    if let Some(inner) = err.get_ref() {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
    }
    text
}

/// Turn a collection error into the CLI's error (bad --root => exit status 2).
pub fn collect_error(err: CollectError) -> anyhow::Error {
    match err {
        e @ (CollectError::NotAHost { .. } | CollectError::BadMetadata { .. }) => bad_input(e.to_string()),
    }
}

#[derive(clap::Args, Default)]
#[command(
    after_help = "Notes about cgroups that vanished, unreadable files and unobserved \
signals go to stderr; stdout carries only the JSON. Pods are identified by UID only \
(podRef.name/namespace are empty) and containers by container id: cgroups do not carry names.\n\n\
Examples:\n  \
headroom summary > summary.json                     # then: headroom status --summary summary.json\n  \
headroom summary --pretty --root node1.tar.gz       # a tree saved by `headroom capture`\n  \
headroom summary -q | jq .node.memory"
)]
pub struct Args {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Pretty-print (default when stdout is a terminal).
    #[arg(long, conflicts_with = "compact")]
    pub pretty: bool,
    /// One line of JSON (default when stdout is not a terminal).
    #[arg(long)]
    pub compact: bool,
    /// Do not print notes about skipped cgroups and unobserved signals.
    #[arg(long, short)]
    pub quiet: bool,
    /// The kubelet's feature gates, as its `--feature-gates` flag takes them. Only `KubeletPSI`
    /// changes the Summary: `KubeletPSI=false` leaves out `psi` (on by default since v1.34).
    #[arg(long, value_name = "GATE=BOOL,...")]
    pub feature_gates: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kubelet_psi = match &args.feature_gates {
        None => true,
        Some(gates) => {
            headroom_core::config::KubeletConfig::from_flags(&[format!("--feature-gates={gates}")])
                .and_then(|c| c.eviction())
                .map_err(|e| bad_input(format!("--feature-gates: {e}")))?
                .kubelet_psi
        }
    };
    let (_opened, mut opts) = args.source.open()?;
    opts.kubelet_psi_off = !kubelet_psi;
    let mut collector = headroom_linux::collect::Collector::new(opts).map_err(collect_error)?;
    let snap = collector.collect().map_err(collect_error)?;
    if !args.quiet {
        for skip in &snap.skipped {
            crate::output::note(format_args!(
                "headroom: note: {}: {}",
                skip.path.display(),
                skip.reason
            ));
        }
    }
    let stdout = std::io::stdout();
    let pretty = args.pretty || (!args.compact && stdout.is_terminal());
    let json = if pretty {
        serde_json::to_string_pretty(&snap.summary)?
    } else {
        serde_json::to_string(&snap.summary)?
    };
    let mut out = stdout.lock();
    writeln!(out, "{json}")
        .and_then(|()| out.flush())
        .context("writing the Summary JSON to stdout")?;
    Ok(ExitCode::SUCCESS)
}
