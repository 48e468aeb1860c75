//! The fastest this machine can grow a cgroup's memory, measured once at start: the rate the
//! adaptive re-reads ([`crate::usage_poll`]) must assume so that a pod starting from rest at
//! full speed is still read before it reaches the threshold.
//!
//! The re-reads cost one wake-up per `distance / rate`: the assumed rate sets the idle cost.
//! A constant (4 GiB/s) is at once too slow for a big machine with transparent huge pages and
//! many cores, and far too fast for a small or emulated one (in the TCG test VM the guest
//! allocates at ~30-300 MiB/s and the constant made the re-reads 13x per second at 310 MiB from
//! the threshold). So the agent measures the machine instead:
//!
//! * one thread faults in [`SAMPLE_BYTES`] of fresh anonymous memory (a 2 MiB-aligned region,
//!   so transparent huge pages apply when the system uses them, as they would for a pod),
//!   [`ROUNDS`] times; the fastest round counts;
//! * the time is the thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), not the wall clock:
//!   on a busy node the agent may be preempted mid-round, which would understate the rate (the
//!   unsafe direction); CPU time is what a pod's thread needs per byte, however loaded the
//!   machine is;
//! * the bound is that per-thread rate times every online CPU of the node (not only those the
//!   agent may use: pods are not limited by the agent's affinity or CPU quota), times
//!   [`SAFETY`] (page cache from tmpfs writes skips the zeroing a fault does; faults from many
//!   threads at once never scale better than linearly, so the product stays an upper bound).
//!
//! Cost: [`SAMPLE_BYTES`] of memory for a few milliseconds at start, charged to the agent's
//! own cgroup and returned at once. If the measurement fails, [`FALLBACK`] applies.
//! Known limit: a virtual machine whose host is more loaded during the measurement than later
//! (its guest CPU time then includes time the vCPU did not run) understates the rate; the
//! re-reads also track the growth they measure (twice the last measured rate), which covers
//! a steady allocator after two reads.

use std::time::Duration;

/// Memory faulted in per round.
pub const SAMPLE_BYTES: usize = 16 << 20;
/// Rounds; the fastest counts (the first may pay for the allocator's own set-up).
pub const ROUNDS: usize = 3;
/// Margin over the measured product (see the module docs).
pub const SAFETY: f64 = 2.0;
/// Rate assumed when the measurement fails: one thread faulting anonymous memory on current
/// server hardware, without huge pages.
pub const FALLBACK: f64 = 4.0 * (1u64 << 30) as f64;

const HUGE_PAGE: usize = 2 << 20;
const PAGE: usize = 4096;

/// A measured growth bound and how it was obtained (for the start-up log line).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrowthBound {
    /// Bytes per second the re-reads assume.
    pub rate: f64,
    /// One thread's fault rate, bytes per CPU-second (None: not measured, [`FALLBACK`]).
    pub per_thread: Option<f64>,
    pub cpus: usize,
}

impl GrowthBound {
    /// The bound from one thread's measured rate on `cpus` CPUs.
    pub fn from_measurement(per_thread: f64, cpus: usize) -> GrowthBound {
        GrowthBound {
            rate: per_thread * cpus.max(1) as f64 * SAFETY,
            per_thread: Some(per_thread),
            cpus,
        }
    }

    pub fn fallback(cpus: usize) -> GrowthBound {
        GrowthBound {
            rate: FALLBACK,
            per_thread: None,
            cpus,
        }
    }

    /// Measure this machine (a few ms of CPU, [`SAMPLE_BYTES`] of memory for that long).
    pub fn measure() -> GrowthBound {
        let cpus = node_cpus();
        let best = (0..ROUNDS).filter_map(|_| fault_round(SAMPLE_BYTES)).min();
        match best {
            Some(cpu) if !cpu.is_zero() => {
                GrowthBound::from_measurement(SAMPLE_BYTES as f64 / cpu.as_secs_f64(), cpus)
            }
            _ => GrowthBound::fallback(cpus),
        }
    }

    /// For the log: `2.4 GiB/s (measured 300 MiB/s per CPU x 4 CPUs x 2)`.
    pub fn describe(&self) -> String {
        let mib = |b: f64| b / (1u64 << 20) as f64;
        match self.per_thread {
            Some(p) => format!(
                "{:.0} MiB/s (measured {:.0} MiB/s per CPU x {} CPUs x {SAFETY})",
                mib(self.rate),
                mib(p),
                self.cpus
            ),
            None => format!("{:.0} MiB/s (assumed: the measurement failed)", mib(self.rate)),
        }
    }
}

/// CPU time this thread took to fault in `bytes` of fresh anonymous memory; None when the
/// thread CPU clock is unusable.
fn fault_round(bytes: usize) -> Option<Duration> {
    // Zeroed allocation: the allocator maps it without touching it, so every write below
    // faults (as a pod's fresh allocation does). The slack lets the region start on a huge
    // page boundary.
    let mut buf: Vec<u8> = vec![0; bytes + HUGE_PAGE];
    let base = buf.as_ptr() as usize;
    let start = base.next_multiple_of(HUGE_PAGE) - base;
    let region = &mut buf[start..start + bytes];
    let t0 = thread_cpu()?;
    for byte in region.iter_mut().step_by(PAGE) {
        *byte = 1;
    }
    // The writes must happen (and fault) although nothing reads them.
    std::hint::black_box(&region);
    let t1 = thread_cpu()?;
    drop(buf);
    t1.checked_sub(t0)
}

/// The CPUs pods may grow memory on: every online CPU of the node
/// (`/sys/devices/system/cpu/online`), not the agent's own share. `available_parallelism`
/// counts only the CPUs the agent may use (its affinity, its cgroup's `cpu.max`): a DaemonSet
/// limited to 100m would count one CPU on a 64-CPU node and assume 64x too slow a growth.
fn node_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|t| count_cpu_list(&t))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The number of CPUs in a kernel CPU list (`0-3,5,7-8`); None when it does not parse.
fn count_cpu_list(text: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in text.trim().split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

fn thread_cpu() -> Option<Duration> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u32::try_from(t.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_scales_with_cpus_and_the_margin() {
        let b = GrowthBound::from_measurement(100.0, 4);
        assert_eq!(b.rate, 100.0 * 4.0 * SAFETY);
        // No CPU count (0) still bounds one thread.
        assert_eq!(GrowthBound::from_measurement(100.0, 0).rate, 100.0 * SAFETY);
        assert_eq!(GrowthBound::fallback(8).rate, FALLBACK);
    }

    #[test]
    fn cpu_lists_count_every_cpu_and_junk_is_refused() {
        assert_eq!(count_cpu_list("0-3\n"), Some(4));
        assert_eq!(count_cpu_list("0-3,5,7-8"), Some(7));
        assert_eq!(count_cpu_list("0"), Some(1));
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list("a-b"), None);
        // The node's CPUs, at least what this process may use.
        let mine = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(node_cpus() >= mine);
    }

    #[test]
    fn a_measurement_on_this_machine_is_positive_and_described() {
        let b = GrowthBound::measure();
        assert!(b.rate > 0.0 && b.rate.is_finite(), "{b:?}");
        assert!(b.describe().contains("MiB/s"), "{}", b.describe());
        // A real machine faults anonymous memory faster than 10 MiB per CPU-second.
        if let Some(p) = b.per_thread {
            assert!(p > 10.0 * (1u64 << 20) as f64, "{b:?}");
        }
    }
}
