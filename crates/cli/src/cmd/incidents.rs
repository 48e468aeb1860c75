//! `headroom incidents`: what happened in a flight recording: each eviction, OOM kill and
//! MemoryPressure episode, with the signal, the observed value against the threshold, the pod,
//! the ranking and the working-set split in the minutes before.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use headroom_core::quantity::Quantity;
use headroom_record::incidents::{self, Incident};
use headroom_record::store::{Samples, WalkOptions};

use super::bad_input;
use super::replay::RecordingRange;
use super::simulate::Format;

/// Incidents need the node's and the pods cgroup's raw samples (the working set split before
/// each), not each pod's; the passes are only read, so they are lent (nothing copied), light
/// passes as recorded.
const WITH_SAMPLES: WalkOptions = WalkOptions {
    samples: Samples::NodeLevel,
    fill_light: false,
};

#[derive(clap::Args, Debug)]
#[command(after_long_help = "Examples:\n  \
headroom incidents --recording /var/lib/headroom/recording\n  \
headroom incidents --recording rec --format json | jq -c 'select(.kind == \"eviction\")'")]
pub struct Args {
    #[command(flatten)]
    pub range: RecordingRange,
    /// Output format [default: json when stdout is not a terminal, else text]. JSON: one
    /// object per incident, one per line.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also draw the range as an SVG: each memory signal against its threshold (the recorded
    /// configuration's), MemoryPressure, evictions and OOM kills, the node's working-set split.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (store, from, to) = args.range.open()?;
    // The split reaches back before `from`: read from a window earlier.
    let read_from = from.map(|t| t - jiff::SignedDuration::from_secs(incidents::SPLIT_WINDOW_SECONDS));
    let events = store
        .events(read_from, to)
        .map_err(|e| bad_input(e.to_string()))?;
    let mut finder = incidents::Finder::new(events);
    let mut passes = 0usize;
    let plot_config = match &args.plot {
        Some(_) => {
            let meta = store.meta().map_err(|e| bad_input(e.to_string()))?;
            Some(super::replay::eviction_config(None, &meta.config, &args.range.recording)?.0)
        }
        None => None,
    };
    let mut points = Vec::new();
    let mut origin = None;
    store
        .lend_each_pass(read_from, to, WITH_SAMPLES, |p| {
            finder.push(p);
            passes += 1;
            if let Some(config) = &plot_config {
                let origin = *origin.get_or_insert(p.time);
                points.push(super::incidents_plot::Point::of(p, &p.decision, config, origin));
            }
            Ok(())
        })
        .map_err(|e| bad_input(e.to_string()))?;
    let found: Vec<Incident> = finder
        .finish()
        .into_iter()
        .filter(|i| from.is_none_or(|f| i.time >= f))
        .collect();
    let format = super::replay::output_format(args.format);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if format == Format::Text && found.is_empty() {
        writeln!(
            out,
            "no eviction, OOM kill or MemoryPressure in {} ({} passes)",
            args.range.recording.display(),
            passes
        )
        .context("writing to stdout")?;
    }
    for i in &found {
        match format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(i).unwrap_or_default()),
            Format::Text => out.write_all(text(i).as_bytes()),
        }
        .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    if let (Some(path), Some(origin)) = (&args.plot, origin) {
        super::incidents_plot::draw(path, &points, &found, origin)?;
        crate::output::note(format_args!(
            "headroom incidents: drew {} passes to {}",
            points.len(),
            path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn bytes(b: i64) -> String {
    Quantity::new(b, headroom_core::quantity::Format::BinarySI).to_string()
}

/// One incident as readable lines.
fn text(i: &Incident) -> String {
    let mut s = format!("{}  {}", i.time, i.kind);
    if let Some(end) = i.end {
        s.push_str(&format!(" until {end}"));
    }
    if let Some(pod) = &i.pod {
        s.push_str(&format!("  pod {pod}"));
    }
    s.push('\n');
    if let Some(signal) = &i.signal {
        let observed = i.observed.map(bytes).unwrap_or_else(|| "?".into());
        match i.threshold {
            Some(t) => s.push_str(&format!(
                "  {signal}: {observed} available, threshold {}\n",
                bytes(t)
            )),
            None => s.push_str(&format!("  {signal}: {observed} available\n")),
        }
    } else if let Some(o) = i.observed {
        s.push_str(&format!("  memory.available: {} at the pass before\n", bytes(o)));
    }
    if let Some(c) = &i.cgroup {
        s.push_str(&format!("  cgroup: {c}\n"));
    }
    if !i.ranking.is_empty() {
        s.push_str(&format!("  ranking: {}\n", i.ranking.join(", ")));
    }
    if let Some(m) = &i.message {
        s.push_str(&format!("  message: {m}\n"));
    }
    if !i.woken_by.is_empty() {
        let w: Vec<String> = i.woken_by.iter().map(ToString::to_string).collect();
        s.push_str(&format!("  woken by: {}\n", w.join(", ")));
    }
    if let (Some(first), Some(last)) = (i.working_set_before.first(), i.working_set_before.last()) {
        let mib = |b: u64| b / (1 << 20);
        s.push_str(&format!(
            "  working set {} MiB -> {} MiB since {} (anon {} -> {} MiB, active_file {} -> {} MiB, inactive_file {} -> {} MiB)\n",
            mib(first.working_set),
            mib(last.working_set),
            first.time,
            mib(first.anon),
            mib(last.anon),
            mib(first.active_file),
            mib(last.active_file),
            mib(first.inactive_file),
            mib(last.inactive_file),
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use headroom_record::model::Wake;

    #[test]
    fn an_incident_says_which_watches_woke_its_pass() {
        let mut i = Incident {
            kind: "eviction",
            time: "2026-01-01T00:00:00Z".parse().unwrap(),
            end: None,
            signal: None,
            observed: None,
            threshold: None,
            pod: Some("ns/hog".into()),
            cgroup: None,
            ranking: Vec::new(),
            message: None,
            woken_by: Vec::new(),
            working_set_before: Vec::new(),
        };
        assert!(!text(&i).contains("woken by"));
        i.woken_by = vec![
            Wake {
                watch: "pods memory.events".into(),
                kind: "memory_events".into(),
                detail: "high=3".into(),
            },
            Wake {
                watch: "psi pods".into(),
                kind: "psi".into(),
                detail: String::new(),
            },
        ];
        assert!(
            text(&i).contains("  woken by: pods memory.events (memory_events), psi pods (psi)\n"),
            "{}",
            text(&i)
        );
        let json = serde_json::to_value(&i).unwrap();
        assert_eq!(json["wokenBy"][0]["watch"], "pods memory.events");
        assert_eq!(json["wokenBy"][0]["detail"], "high=3");
    }
}
