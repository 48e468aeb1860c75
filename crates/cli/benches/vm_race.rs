//! The agent's race on cgroup v2 in the VM test bed (qemu TCG, Debian's 6.1 kernel): reaction
//! (threshold crossing -> the hog's last progress) and kernel OOM kills for the agent, the
//! 10 ms polling yardstick and no evictor, side by side in one guest run; then the idle CPU of
//! the agent and the yardstick with 110 empty pods. See `tests/vm/race.rs` for the setup and
//! how the figures are computed. Emulated time is not real time: compare ratios.
//!
//! `HEADROOM_VM_BINARY=$PWD/target/release/headroom cargo bench -p headroom --bench vm_race`
//! Env: HEADROOM_BENCH_RUNS (default 20 per rate and contender), HEADROOM_BENCH_IDLE_SECS
//! (default 60), HEADROOM_BENCH_RATE (the moderate rate, MiB/s, default 100),
//! HEADROOM_BENCH_CONTENDERS (default `agent yardstick none`; `observe none` measures when each
//! early-warning mechanism fires, with the agent acting on nothing), HEADROOM_BENCH_OUT (a
//! folder: the guest's files, e.g. the agent's log, and its console are written there),
//! HEADROOM_BENCH_FROM (such a folder: print the figures of that earlier run again, no VM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/vm/agent_steps.rs"]
mod agent_steps;
#[path = "../tests/vm/race.rs"]
mod race;

use headroom_vmtest::boot_or_skip;

mod support;
use support::{env, pct};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rate = env("HEADROOM_BENCH_RATE", 100).to_string();
    let setup = race::Setup {
        runs: env("HEADROOM_BENCH_RUNS", 20) as usize,
        rates: vec![rate, "full".into()],
        contenders: std::env::var("HEADROOM_BENCH_CONTENDERS")
            .unwrap_or_else(|_| "agent yardstick none".into())
            .split([' ', ','])
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect(),
        idle_secs: env("HEADROOM_BENCH_IDLE_SECS", 60),
    };
    let out = match std::env::var_os("HEADROOM_BENCH_FROM") {
        Some(dir) => earlier_run(std::path::Path::new(&dir)),
        None => match boot_or_skip("vm_race bench", &race::guest(&setup)) {
            Some(out) => out,
            None => return,
        },
    };
    let Some(csv) = out.text("race.csv") else {
        eprintln!("{}", out.log_for_failure());
        panic!("the guest sent no race.csv");
    };
    let runs = race::parse(&csv);
    let overhead = race::hog_overhead(&runs);
    println!(
        "## Agent race on cgroup v2 (VM, TCG), {} runs per rate and contender; guest boot {:.1} s, wall {:.0} s",
        setup.runs,
        out.boot_seconds.unwrap_or(f64::NAN),
        out.wall.as_secs_f64()
    );
    println!(
        "hog overhead calibrated on the no-evictor runs: {:.1} MiB",
        overhead as f64 / race::MIB as f64
    );
    println!(
        "| rate | contender | runs | kernel OOM kills | Guaranteed pod killed | reaction p50 ms | p90 ms | max ms | overshoot p50 MiB | max MiB |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut p50 = std::collections::BTreeMap::new();
    for r in &setup.rates {
        for c in &setup.contenders {
            let mine: Vec<&race::Run> = runs
                .iter()
                .filter(|x| &x.rate == r && &x.contender == c)
                .collect();
            let ooms = mine.iter().filter(|x| x.oom).count();
            let gdead = mine.iter().filter(|x| !x.guaranteed_alive).count();
            let mut ms: Vec<f64> = Vec::new();
            let mut mib: Vec<f64> = Vec::new();
            for x in mine.iter().filter(|x| !x.oom) {
                if let Some((over, t)) = race::reaction(x, overhead) {
                    ms.push(t);
                    mib.push(over as f64 / race::MIB as f64);
                }
            }
            ms.sort_by(f64::total_cmp);
            mib.sort_by(f64::total_cmp);
            let rate_name = if r == "full" {
                "full speed".to_string()
            } else {
                format!("{r} MiB/s")
            };
            println!(
                "| {rate_name} | {c} | {} | {ooms} | {gdead} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                mine.len(),
                pct(&ms, 0.5),
                pct(&ms, 0.9),
                ms.last().copied().unwrap_or(f64::NAN),
                pct(&mib, 0.5),
                mib.last().copied().unwrap_or(f64::NAN),
            );
            p50.insert((rate_name, c.clone()), pct(&ms, 0.5));
        }
    }
    for ((rate, c), v) in &p50 {
        if c == "agent"
            && let Some(y) = p50.get(&(rate.clone(), "yardstick".to_string()))
        {
            println!("ratio p50 ({rate}): agent/yardstick = {:.2}", v / y);
        }
    }
    if let Some(log) = out.text("observe.log") {
        let notes = race::parse_notifications(&log);
        println!();
        println!(
            "## When each early-warning mechanism fired (agent with --action none; the kernel OOM-kills)"
        );
        println!(
            "| mechanism (watch) | runs where it fired | first firing, ms after the crossing: p50 / min / max | ms before the OOM kill: p50 |"
        );
        println!("| --- | --- | --- | --- |");
        let observed = runs.iter().filter(|r| r.contender == "observe").count();
        for (key, v) in race::first_firings(&runs, overhead, &notes) {
            let mut after: Vec<f64> = v.iter().map(|x| x.0).collect();
            let mut before: Vec<f64> = v.iter().map(|x| x.1).collect();
            after.sort_by(f64::total_cmp);
            before.sort_by(f64::total_cmp);
            println!(
                "| {key} | {}/{observed} | {:.1} / {:.1} / {:.1} | {:.1} |",
                v.len(),
                pct(&after, 0.5),
                after.first().copied().unwrap_or(f64::NAN),
                after.last().copied().unwrap_or(f64::NAN),
                pct(&before, 0.5)
            );
        }
    }
    if let Some(log) = out.text("agent.log") {
        print_agent_steps(&agent_steps::agent_steps(&log));
    }
    if let Some(idle) = out.text("idle.csv").as_deref().and_then(race::parse_idle) {
        let share = |ms: f64| ms / (idle.secs * 10.0);
        println!();
        println!(
            "## Idle CPU over {:.0} s of guest time, 110 empty pods, no pressure",
            idle.secs
        );
        println!("| process | CPU ms | share of one CPU |");
        println!("| --- | --- | --- |");
        println!(
            "| agent (10 s period, early warning) | {:.1} | {:.3}% |",
            idle.agent_ms,
            share(idle.agent_ms)
        );
        println!(
            "| agent, --notifications off (no early warning) | {:.1} | {:.3}% |",
            idle.agent_quiet_ms,
            share(idle.agent_quiet_ms)
        );
        println!(
            "| yardstick (10 ms polling) | {:.1} | {:.3}% |",
            idle.yardstick_ms,
            share(idle.yardstick_ms)
        );
        println!(
            "ratio idle CPU agent/yardstick = {:.1}%",
            idle.agent_ms / idle.yardstick_ms * 100.0
        );
        println!(
            "ratio idle CPU of the early warning alone (agent - agent without notifications)/yardstick = {:.1}%",
            (idle.agent_ms - idle.agent_quiet_ms) / idle.yardstick_ms * 100.0
        );
    }
    if let Some(dir) = std::env::var_os("HEADROOM_BENCH_OUT") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &out.files {
            std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
        }
        std::fs::write(std::path::Path::new(&dir).join("console.log"), &out.console).unwrap();
    }
}

/// The files an earlier run wrote under HEADROOM_BENCH_OUT, as if the guest had sent them.
fn earlier_run(dir: &std::path::Path) -> headroom_vmtest::Outcome {
    let mut files = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "console.log" {
            files.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    headroom_vmtest::Outcome {
        ending: headroom_vmtest::Ending::Finished { scenario_exit: 0 },
        cases: Vec::new(),
        files,
        console: std::fs::read_to_string(dir.join("console.log")).unwrap_or_default(),
        kernel: String::new(),
        boot_seconds: None,
        wall: std::time::Duration::ZERO,
        garbled: Vec::new(),
    }
}

fn print_agent_steps(s: &agent_steps::AgentSteps) {
    println!();
    println!(
        "## Where the agent's time goes (its log; {} crossings; prepared kills: {} confirmed, {} disagreed, {} not used)",
        s.crossings, s.confirmed, s.disagreed, s.unused
    );
    println!("| step | events | p50 ms | min ms | max ms |");
    println!("| --- | --- | --- | --- | --- |");
    let rows: [(&str, &[f64]); 5] = [
        (
            "re-read finds the crossing -> first SIGTERM (prepared kill)",
            &s.hot_path,
        ),
        ("the preparation used: its age at the crossing", &s.prepared_age),
        ("the preparation used: how long it took", &s.prepared_in),
        ("first SIGTERM -> the confirming pass's verdict", &s.to_verdict),
        (
            "fast pass: collection (node, pods cgroup, pod cgroups)",
            &s.fast_collection,
        ),
    ];
    for (name, v) in rows {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {:.2} | {:.2} | {:.2} |",
            v.len(),
            pct(&v, 0.5),
            v.first().copied().unwrap_or(f64::NAN),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
}
