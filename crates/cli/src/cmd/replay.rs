//! `headroom replay`: the eviction manager over a flight recording, step by step as `headroom
//! simulate` prints a timeline, under the recording's own configuration (which reproduces the
//! recorded decisions) or another one ("what would 750Mi have done?").

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use headroom_core::Timestamp;
use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::manager::SyncInputs;
use headroom_core::rank::FsTopology;
use headroom_core::reclaim::Policy;
use headroom_record::Store;
use headroom_record::model::{DecisionRecord, Pass};
use headroom_record::store::{Samples, WalkOptions};
use serde_json::{Value, json};

use super::bad_input;
use super::simulate::{self, Format};
use crate::reclaim::run::PolicyRun;
use crate::reclaim::view::name_step;
use crate::reclaim::{PolicyArg, recorded};
use headroom_core::view::{SyncStep, to_sorted_json};

#[derive(clap::Args, Debug)]
#[command(
    after_long_help = "Each recorded pass becomes one `synchronize` at the pass's time, with the \
Summary and active pods the pass saw; the output is `headroom simulate`'s (one JSON object per \
step, or text), plus `recorded`: what the recording's own decision was at that pass.\n\n\
With the recording's own configuration (the default) the steps reproduce the recorded \
decisions. With --config another KubeletConfiguration decides instead. A pass recorded as \
light (only the node and pods cgroups were read, because every threshold was far) ranks with \
the pod figures of the last full pass before it.\n\n\
Examples:\n  \
headroom replay --recording /var/lib/headroom/recording --format text\n  \
headroom replay --recording rec --config evictionHard-750Mi.yaml | jq -c 'select(.evicted)'\n  \
headroom replay --recording rec --from 2026-01-01T10:00:00Z --export-timeline t.json"
)]
pub struct Args {
    #[command(flatten)]
    pub range: RecordingRange,
    /// Decide with this KubeletConfiguration instead of the recorded one.
    #[arg(long, value_name = "KUBELET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format [default: json when stdout is not a terminal, else text].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also draw the replay as an SVG (as `incidents --plot`, with this run's thresholds,
    /// conditions and evictions).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Instead of replaying, write the passes as a `headroom simulate` timeline (JSON).
    #[arg(long, value_name = "FILE")]
    pub export_timeline: Option<PathBuf>,
    /// Eviction policy: `kubelet` (exactly the kubelet's) or `reclaim-first` (drop clean file
    /// cache first, evict only if the threshold is still met; docs/reclaim-first.md). Given,
    /// every step names it, and under reclaim-first says what the kubelet policy did. The cache
    /// is the pods cgroup's recorded memory.stat: clean active file pages (active_file - dirty -
    /// writeback) are what the kernel can drop; a cgroup v1 recording has no memory.reclaim, so
    /// reclaim-first decides as the kubelet there. Each pass is judged on its own figures: a
    /// replayed reclaim is not carried to the next pass (docs/reclaim-first-replay.md)
    /// [default: kubelet, printed as without the flag]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub policy: Option<PolicyArg>,
}

/// Which recording, and which part of it (`replay` and `incidents` share these flags).
#[derive(clap::Args, Debug)]
pub struct RecordingRange {
    /// The recording directory (`headroom record DIR`, `headroom agent --record DIR`).
    #[arg(long, value_name = "DIR")]
    pub recording: PathBuf,
    /// Start of the time range (RFC 3339, e.g. 2026-01-01T10:00:00Z) [default: the first pass].
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the time range (RFC 3339) [default: the last pass].
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

impl RecordingRange {
    /// The opened recording and the range's bounds; any problem is bad input.
    pub fn open(&self) -> anyhow::Result<(Store, Option<Timestamp>, Option<Timestamp>)> {
        let from = parse_time("from", &self.from)?;
        let to = parse_time("to", &self.to)?;
        let store = Store::open(&self.recording).map_err(|e| bad_input(e.to_string()))?;
        Ok((store, from, to))
    }
}

/// `--format`, or text on a terminal and JSON lines otherwise (as `simulate`).
pub fn output_format(chosen: Option<Format>) -> Format {
    chosen.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    })
}

/// An RFC 3339 time flag.
fn parse_time(flag: &str, v: &Option<String>) -> anyhow::Result<Option<Timestamp>> {
    v.as_deref()
        .map(|s| {
            s.parse::<Timestamp>().map_err(|e| {
                bad_input(format!(
                    "--{flag} {s:?}: not an RFC 3339 time like 2026-01-01T10:00:00Z: {e}"
                ))
            })
        })
        .transpose()
}

/// `--export-timeline`: a timeline holds the Summaries and the pods, no raw samples; light
/// passes (only the node and pods cgroups read) are lent the pod figures of the last pass
/// before them (see the help).
const TIMELINE_WALK: WalkOptions = WalkOptions {
    samples: Samples::Skip,
    fill_light: true,
};

/// The recording's own config of each pass, parsed once per `configs` row (`--config`
/// replaces them all).
struct PassConfigs<'a> {
    store: &'a Store,
    recording: &'a std::path::Path,
    alt: Option<EvictionConfig>,
    parsed: std::collections::HashMap<i64, EvictionConfig>,
}

impl PassConfigs<'_> {
    fn of(&mut self, pass: &Pass) -> Result<&EvictionConfig, String> {
        if let Some(alt) = &self.alt {
            return Ok(alt);
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = self.parsed.entry(pass.config_id) {
            let text = self
                .store
                .config_text(pass.config_id)
                .map_err(|e| e.to_string())?;
            let (config, _) = eviction_config(None, &text, self.recording)
                .map_err(|e| format!("pass {}: its recorded config: {e:#}", pass.id))?;
            slot.insert(config);
        }
        self.parsed
            .get(&pass.config_id)
            .ok_or_else(|| format!("pass {}: config {} not parsed", pass.id, pass.config_id))
    }
}

/// The eviction settings to decide with: `alt` when given, else the recording's own
/// configuration (kubelet defaults when it recorded none). Also returns the text.
pub fn eviction_config(
    alt: Option<&std::path::Path>,
    recorded: &str,
    recording: &std::path::Path,
) -> anyhow::Result<(EvictionConfig, String)> {
    let (text, origin) = match alt {
        Some(path) => (
            crate::cmd::read_text(path, "kubelet config")?,
            path.display().to_string(),
        ),
        None => (
            recorded.to_string(),
            format!("{} (recorded config)", recording.display()),
        ),
    };
    if text.trim().is_empty() {
        let defaults = KubeletConfig::default()
            .eviction()
            .map_err(|e| bad_input(e.to_string()))?;
        return Ok((defaults, text));
    }
    let kubelet = KubeletConfig::parse(&text, &origin).map_err(|e| bad_input(e.to_string()))?;
    Ok((kubelet.eviction().map_err(|e| bad_input(e.to_string()))?, text))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (store, from, to) = args.range.open()?;
    let meta = store.meta().map_err(|e| bad_input(e.to_string()))?;
    let (config, config_text) = eviction_config(args.config.as_deref(), &meta.config, &args.range.recording)?;
    if let Some(path) = &args.export_timeline {
        let mut passes = Vec::new();
        store
            .lend_each_pass(from, to, TIMELINE_WALK, |p| {
                passes.push(p.clone());
                Ok(())
            })
            .map_err(|e| bad_input(e.to_string()))?;
        return export_timeline(path, &config_text, &passes);
    }
    let pod_cgroup_root = if meta.pod_cgroup_root.is_empty() {
        config.pod_cgroup_root.clone()
    } else {
        meta.pod_cgroup_root.clone()
    };
    let format = output_format(args.format);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let policy: Policy = args.policy.map(Policy::from).unwrap_or_default();
    if args.policy.is_some() && format == Format::Text {
        let header = simulate::policy_header(policy, recorded::ASSUMPTION);
        writeln!(out, "{header}").context("writing to stdout")?;
    }
    if policy == Policy::ReclaimFirst && format == Format::Json {
        crate::output::note(format_args!(
            "headroom replay: --policy reclaim-first: {} (docs/reclaim-first-replay.md)",
            recorded::ASSUMPTION
        ));
    }
    let mut run = PolicyRun::new(policy);
    let mut steps = 0usize;
    // An output error ends the walk; it is told apart from a damaged recording below.
    let mut write_error: Option<std::io::Error> = None;
    // With --plot: the replayed decisions, as `incidents` would find them.
    let mut plot = match &args.plot {
        Some(_) => {
            let events = store.events(from, to).map_err(|e| bad_input(e.to_string()))?;
            Some((headroom_record::incidents::Finder::new(events), Vec::new()))
        }
        None => None,
    };
    let mut origin = None;
    let mut configs = PassConfigs {
        store: &store,
        recording: &args.range.recording,
        alt: args.config.is_some().then(|| config.clone()),
        parsed: Default::default(),
    };
    let mut config_error = None;
    let step = |pass: &Pass| {
        steps += 1;
        let config = match configs.of(pass) {
            Ok(c) => c,
            Err(e) => {
                config_error = Some(e);
                return Err(headroom_record::StoreError::Io {
                    dir: args.range.recording.clone(),
                    detail: "stopped: a recorded config does not parse".into(),
                });
            }
        };
        match replay_step(
            &mut out,
            format,
            config,
            (&mut run, args.policy.is_some()),
            &pod_cgroup_root,
            pass,
        ) {
            Ok(replayed) => {
                if let Some((finder, points)) = plot.as_mut() {
                    finder.push_decided(pass, &replayed);
                    let origin = *origin.get_or_insert(pass.time);
                    points.push(super::incidents_plot::Point::of(pass, &replayed, config, origin));
                }
                Ok(())
            }
            Err(e) => {
                write_error = Some(e);
                Err(headroom_record::StoreError::Io {
                    dir: args.range.recording.clone(),
                    detail: "stopped: stdout failed".into(),
                })
            }
        }
    };
    // The kubelet's decisions need the Summary alone; the plot reads the node's sample,
    // reclaim-first each pod's.
    let samples = if policy == Policy::ReclaimFirst {
        Samples::All
    } else if args.plot.is_some() {
        Samples::NodeLevel
    } else {
        Samples::Skip
    };
    let how = WalkOptions {
        samples,
        fill_light: true,
    };
    let walked = store.lend_each_pass(from, to, how, step);
    if let Some(e) = write_error {
        return Err(anyhow::Error::new(e).context("writing to stdout"));
    }
    if let Some(e) = config_error {
        return Err(bad_input(format!("{}: {e}", args.range.recording.display())));
    }
    walked.map_err(|e| bad_input(e.to_string()))?;
    if steps == 0 {
        crate::output::note(format_args!(
            "headroom replay: {}: no pass recorded{}",
            args.range.recording.display(),
            if from.is_some() || to.is_some() {
                " in that time range"
            } else {
                ""
            }
        ));
    }
    out.flush().context("writing to stdout")?;
    if let (Some(path), Some((finder, points)), Some(origin)) = (&args.plot, plot, origin) {
        super::incidents_plot::draw(path, &points, &finder.finish(), origin)?;
        crate::output::note(format_args!(
            "headroom replay: drew {} passes to {}",
            points.len(),
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// One pass through `synchronize`, printed as `headroom simulate` prints a step, with the
/// recorded decision alongside; returns the replayed decision.
fn replay_step(
    out: &mut impl Write,
    format: Format,
    config: &EvictionConfig,
    (run, named): (&mut PolicyRun, bool),
    pod_cgroup_root: &str,
    pass: &Pass,
) -> std::io::Result<DecisionRecord> {
    let inputs = SyncInputs {
        summary: &pass.readings.summary,
        active_pods: &pass.pods,
        now: pass.time,
        fs_topology: FsTopology::default(),
        pod_cgroup_root,
    };
    let stepped = run.step(config, inputs, || recorded::cache_data(&pass.readings));
    let decision = stepped.decision;
    let recorded: Vec<&str> = pass.decision.evictions.iter().map(|e| e.pod.as_str()).collect();
    let armed = config.kernel_memcg_notification.then(|| run.state().notifiers());
    let (step, replayed) = name_step(
        SyncStep::new(&decision, &pass.pods, armed),
        named.then_some(run.policy),
        stepped.reclaim_first.as_ref(),
        &pass.pods,
    );
    let step = simulate::SimulateStep::without_admission(step, replayed);
    match format {
        Format::Json => {
            let mut v = to_sorted_json(&step);
            v["recorded"] = json!({
                "pass": pass.id,
                "trigger": pass.trigger,
                "light": pass.light,
                "conditions": pass.decision.conditions,
                "evicted": recorded,
            });
            if !pass.woken_by.is_empty() {
                v["recorded"]["wokenBy"] = json!(pass.woken_by);
            }
            writeln!(out, "{v}")?;
        }
        Format::Text => {
            simulate::write_text(out, &step)?;
            if !pass.woken_by.is_empty() {
                let w: Vec<String> = pass.woken_by.iter().map(ToString::to_string).collect();
                writeln!(out, "  recorded: woken by {}", w.join(", "))?;
            }
            if !recorded.is_empty() {
                writeln!(out, "  recorded: evicted {}", recorded.join(", "))?;
            }
        }
    }
    Ok(DecisionRecord::from_decision(&decision, &pass.pods))
}

/// The passes as a `headroom simulate` timeline: the config inline, the first pass's pods,
/// and `pods` on a step only when the list changed.
fn export_timeline(path: &std::path::Path, config_text: &str, passes: &[Pass]) -> anyhow::Result<ExitCode> {
    let mut steps = Vec::with_capacity(passes.len());
    let mut current: Option<&Vec<headroom_core::pod::Pod>> = None;
    for p in passes {
        let mut step = json!({"time": p.time.to_string(), "summary": p.readings.summary});
        if current.is_some_and(|before| *before != *p.pods) {
            step["pods"] = json!(*p.pods);
        }
        current = Some(&p.pods);
        steps.push(step);
    }
    let mut timeline = json!({
        "pods": passes.first().map(|p| json!(*p.pods)).unwrap_or(json!([])),
        "steps": steps,
    });
    if !config_text.trim().is_empty() {
        let config: Value = serde_saphyr::from_str(config_text)
            .map_err(|e| bad_input(format!("the recorded config is not YAML or JSON: {e}")))?;
        timeline["config"] = config;
    }
    let text = serde_json::to_string_pretty(&timeline).context("encoding the timeline")?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    crate::output::note(format_args!(
        "headroom replay: wrote {} steps to {} (headroom simulate --timeline {})",
        passes.len(),
        path.display(),
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}
