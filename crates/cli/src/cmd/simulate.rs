//! `headroom simulate`: replay a timeline of kubelet Summaries through the eviction manager.
//!
//! Each step is one `synchronize` at the step's time. The simulator never edits the pod list
//! itself (an evicted pod stays active until a step's `pods` replaces the list), exactly like
//! feeding the kubelet's own loop with recorded inputs.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use headroom_core::admission::{AdmitResult, admit};
use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::manager::SyncInputs;
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_core::reclaim::Policy;
use headroom_core::timeline::Timeline;
use headroom_core::view::{NotifierView, SyncStep, to_sorted_json};

use super::bad_input;
use crate::reclaim::run::{CacheData, PolicyRun};
use crate::reclaim::view::{Replayed, name_step, text_item};
use crate::reclaim::{PolicyArg, figures};
use crate::status::text::wrap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per step, one per line (default when stdout is not a terminal).
    Json,
    /// A readable timeline for humans (default on a terminal).
    Text,
}

#[derive(clap::Args, Debug, Default)]
#[command(
    after_long_help = "Replay a timeline of kubelet Summaries through headroom's re-implementation of the \
kubelet eviction manager and print, for every step, the node conditions, the thresholds met, the pod \
ranking and the pod the kubelet would evict (with its exact message).\n\n\
The timeline (JSON or YAML) has `pods` (the active pods at the start), `steps` (each with `time` and a \
`summary`, optionally `pods` to replace the active list and `admit` to test admission) and optionally \
`config` (a KubeletConfiguration, used when --config is not given). Without any configuration the \
kubelet defaults apply. See examples/ for runnable timelines.\n\n\
Examples: (paths relative to the repository's top directory)\n  \
headroom simulate --config examples/soft-then-hard/kubelet-config.yaml \\\n      \
--timeline examples/soft-then-hard/timeline.yaml --format text\n  \
headroom simulate --timeline examples/min-reclaim/timeline.yaml \\\n      \
--config examples/min-reclaim/kubelet-config.yaml | jq -c .evicted\n  \
headroom simulate --timeline examples/allocatable/timeline.yaml    # kubelet defaults"
)]
pub struct Args {
    /// The timeline file (JSON or YAML).
    #[arg(long, value_name = "FILE")]
    pub timeline: std::path::PathBuf,
    /// KubeletConfiguration file (YAML or JSON); overrides the timeline's `config` [default: the
    /// timeline's `config`, else the kubelet defaults].
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Output format [default: json when stdout is not a terminal, else text].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The pod cgroup root that allocatable memcg notifiers watch [default: derived from the
    /// configuration's cgroupRoot/cgroupsPerQOS/cgroupDriver, e.g. /kubepods].
    #[arg(long, value_name = "CGROUP")]
    pub pod_cgroup_root: Option<String>,
    /// Simulate a node whose images live on a dedicated filesystem (imagefs != nodefs).
    #[arg(long)]
    pub dedicated_image_fs: bool,
    /// With --dedicated-image-fs: container writable layers on their own filesystem too.
    #[arg(long, requires = "dedicated_image_fs")]
    pub split_container_fs: bool,
    /// Eviction policy: `kubelet` (exactly the kubelet's) or `reclaim-first` (drop clean file
    /// cache first, evict only if the threshold is still met; docs/reclaim-first.md). Given,
    /// every step names it, and under reclaim-first says what the kubelet policy did at the same
    /// step. A Summary has no page-cache split: reclaim-first takes the pods' workingSetBytes -
    /// rssBytes as clean cache the kernel can drop (an upper bound: it also counts shmem, dirty
    /// pages and, on cgroup v2, kernel memory) and assumes cgroup v2 (memory.reclaim). Each step
    /// is judged on its own figures: a replayed reclaim is not carried to the next step
    /// (docs/reclaim-first-replay.md) [default: kubelet, printed as without the flag]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub policy: Option<PolicyArg>,
}

fn load_config(args: &Args, timeline: &Timeline) -> anyhow::Result<EvictionConfig> {
    let kubelet = if let Some(path) = &args.config {
        let origin = path.display().to_string();
        KubeletConfig::parse(&crate::cmd::read_text(path, "kubelet config")?, &origin)
            .map_err(|e| bad_input(e.to_string()))?
    } else if let Some(text) = &timeline.config {
        let origin = format!("{} (config)", args.timeline.display());
        KubeletConfig::parse(text, &origin).map_err(|e| bad_input(e.to_string()))?
    } else {
        KubeletConfig::default()
    };
    kubelet.eviction().map_err(|e| bad_input(e.to_string()))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let origin = args.timeline.display().to_string();
    let timeline = Timeline::parse(&crate::cmd::read_text(&args.timeline, "timeline")?, &origin)
        .map_err(|e| bad_input(e.to_string()))?;
    let config = load_config(&args, &timeline)?;
    for warning in &timeline.warnings {
        crate::output::note(format_args!("headroom simulate: warning: {warning}"));
    }
    if timeline.steps.is_empty() {
        // Valid (zero JSON lines), but almost always a timeline cut short: say so once.
        crate::output::note(format_args!(
            "headroom simulate: {origin}: `steps` is empty; nothing to simulate"
        ));
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    });
    let topology = FsTopology {
        dedicated_image_fs: args.dedicated_image_fs,
        split_container_fs: args.split_container_fs,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let pod_cgroup_root = args
        .pod_cgroup_root
        .clone()
        .unwrap_or_else(|| config.pod_cgroup_root.clone());
    let policy: Policy = args.policy.map(Policy::from).unwrap_or_default();
    if args.policy.is_some() && format == Format::Text {
        let header = policy_header(policy, figures::Basis::PodsContainer.assumption());
        writeln!(out, "{header}").context(crate::output::STDOUT_CONTEXT)?;
    }
    if policy == Policy::ReclaimFirst && format == Format::Json {
        // JSON lines stay one object per step: what the replay assumes goes to stderr.
        crate::output::note(format_args!(
            "headroom simulate: --policy reclaim-first: {} (docs/reclaim-first-replay.md)",
            figures::Basis::PodsContainer.assumption()
        ));
    }
    let mut run = PolicyRun::new(policy);
    let mut pods: &[Pod] = &timeline.pods;
    for step in &timeline.steps {
        if let Some(p) = &step.pods {
            pods = p;
        }
        let stepped = run.step(
            &config,
            SyncInputs {
                summary: &step.summary,
                active_pods: pods,
                now: step.time,
                fs_topology: topology,
                pod_cgroup_root: &pod_cgroup_root,
            },
            // A timeline does not say which cgroup version it came from: v2 is assumed.
            || CacheData {
                figures: figures::from_summary(&step.summary),
                pod_caches: None,
                can_reclaim: true,
            },
        );
        let state = run.state();
        let armed = config.kernel_memcg_notification.then(|| state.notifiers());
        let sync_step = SyncStep::new(&stepped.decision, pods, armed);
        let (sync_step, replayed) = name_step(
            sync_step,
            args.policy.map(Policy::from),
            stepped.reclaim_first.as_ref(),
            pods,
        );
        let step_out = SimulateStep {
            admission: step
                .admit
                .iter()
                .map(|p| Admission::new(p, admit(p, state.node_conditions())))
                .collect(),
            step: sync_step,
            replayed,
        };
        match format {
            Format::Json => writeln!(out, "{}", to_sorted_json(&step_out)),
            Format::Text => write_text(&mut out, &step_out),
        }
        .context(crate::output::STDOUT_CONTEXT)?;
    }
    out.flush().context(crate::output::STDOUT_CONTEXT)?;
    Ok(ExitCode::SUCCESS)
}

/// One simulated step: the sync step every consumer reads (docs/sync-step.md), plus what the
/// simulator alone does, admitting the step's `admit` pods.
#[derive(serde::Serialize)]
pub(crate) struct SimulateStep {
    admission: Vec<Admission>,
    #[serde(flatten)]
    step: SyncStep,
    /// Under `--policy reclaim-first` only: what the replay assumed and the kubelet policy did.
    #[serde(skip_serializing_if = "Option::is_none")]
    replayed: Option<Replayed>,
}

impl SimulateStep {
    /// A step with nothing to admit (`headroom replay`: a recording has no admission requests).
    pub(crate) fn without_admission(step: SyncStep, replayed: Option<Replayed>) -> Self {
        SimulateStep {
            admission: Vec::new(),
            step,
            replayed,
        }
    }
}

/// The text output's first line under `--policy`: the policy and what its replay assumes.
pub(crate) fn policy_header(policy: Policy, assumption: &str) -> String {
    let mut text = String::new();
    let line = match policy {
        Policy::Kubelet => "policy: kubelet (the kubelet's eviction manager, exactly)".to_string(),
        Policy::ReclaimFirst => format!(
            "policy: reclaim-first (docs/reclaim-first.md). Each step is judged on its own figures: \
             a replayed reclaim did not happen, so it is not carried to the next step. {assumption}; \
             cgroup v2 (memory.reclaim) is assumed unless the data says v1."
        ),
    };
    wrap(&mut text, "", "  ", &line);
    text.trim_end().to_string()
}

/// One pod of a step's `admit` list and the admission verdict.
#[derive(serde::Serialize)]
struct Admission {
    pod: String,
    admit: bool,
    reason: String,
    message: String,
}

impl Admission {
    fn new(pod: &Pod, r: AdmitResult) -> Self {
        Admission {
            pod: pod.key(),
            admit: r.admit,
            reason: r.reason,
            message: r.message,
        }
    }
}

/// One step as readable text: a line with the time and the conditions, then one item per fact,
/// wrapped at 100 columns with continuation lines indented under their item (the kubelet's
/// messages run to 200 characters; the JSON output keeps each on one line).
pub(crate) fn write_text(out: &mut impl Write, s: &SimulateStep) -> std::io::Result<()> {
    let d = &s.step;
    let conditions = if d.conditions.is_empty() {
        "no pressure".to_string()
    } else {
        d.conditions.join(", ")
    };
    let mut text = format!("{}  {conditions}\n", d.time);
    let mut item = |line: String| wrap(&mut text, "  ", "    ", &line);
    if let Some(error) = &d.sync_error {
        item(format!(
            "sync failed (the kubelet retries at the next sync): {error}"
        ));
    }
    for (signal, o) in d.observations.0.iter().filter(|(s, _)| s.is_memory()) {
        item(format!("{signal}: {} available of {}", o.available, o.capacity));
    }
    for m in &d.thresholds_met {
        let t = &m.threshold;
        let state = if m.held_by_min_reclaim {
            "held until minimum reclaim is recovered".to_string()
        } else if t.hard {
            "hard: acts now".to_string()
        } else if m.grace_satisfied {
            format!("grace {} elapsed", t.grace_period)
        } else {
            format!(
                "met since {}, grace {} not yet elapsed",
                m.first_observed, t.grace_period
            )
        };
        item(format!("met: {} < {} ({state})", t.signal, t.value));
    }
    for e in &d.evictions {
        item(format!(
            "EVICT {} (grace {}s): {}",
            e.pod,
            e.grace_period_seconds,
            e.message.trim_end()
        ));
    }
    if let (Some(r), Some(replayed)) = (&d.reclaim, &s.replayed)
        && let Some(line) = text_item(r, replayed)
    {
        item(line);
    }
    if !d.ranking.is_empty() {
        let names = d.ranking.iter().take(5).cloned().collect::<Vec<_>>();
        let more = d.ranking.len().saturating_sub(5);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        item(format!("ranking: {}{tail}", names.join(", ")));
    }
    for pod in &d.skipped_critical {
        item(format!("skipped critical pod {pod}"));
    }
    if let Some(reason) = &d.reason
        && !d.thresholds_met.is_empty()
    {
        item(format!("no eviction: {reason}"));
    }
    for a in &s.admission {
        if a.admit {
            item(format!("admit {}: admitted", a.pod));
        } else {
            item(format!(
                "admit {}: rejected ({}): {}",
                a.pod,
                a.reason,
                a.message.trim_end()
            ));
        }
    }
    // Only the notifiers re-armed at this step, as the kubelet logs them.
    if d.memcg_notifiers_refreshed == Some(true) {
        for n in &d.memcg_notifiers {
            match n {
                NotifierView::Armed {
                    description,
                    cgroup,
                    arm_at_bytes,
                } => item(format!(
                    "memcg notifier: {description} on /{cgroup} at usage {arm_at_bytes} bytes"
                )),
                NotifierView::Failed { error } => item(format!("memcg notifier: {error}")),
            }
        }
    }
    out.write_all(text.as_bytes())
}
