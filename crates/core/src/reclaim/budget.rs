//! The reclaim budget: attempts and bytes per minute, so the agent never reclaims in a loop,
//! and the ledger of past attempts it is checked against (time comes in as a value).

use std::fmt;

use jiff::Timestamp;

use super::estimate::{CacheFigures, RefaultChurn};

/// The budget's window: one minute (ns).
pub const WINDOW_NS: i128 = 60_000_000_000;

/// At most this many reclaim attempts and bytes asked within any minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub attempts_per_minute: u32,
    pub bytes_per_minute: u64,
}

impl Default for Budget {
    /// 6 attempts (one every 10 s, the kubelet's own sync period, on average) and 2 GiB a minute:
    /// enough to clear a pods cgroup's cache a few times, too little to keep a thrashing reader
    /// busy on I/O.
    fn default() -> Self {
        Budget {
            attempts_per_minute: 6,
            bytes_per_minute: 2 << 30,
        }
    }
}

/// Why the budget allows no reclaim now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "spent")]
pub enum BudgetError {
    /// `used` attempts in the last minute; `max` allowed.
    Attempts { used: u32, max: u32 },
    /// `left` bytes left in the last minute's allowance; the sync needs at least `needed`.
    Bytes { left: u64, needed: u64 },
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetError::Attempts { used, max } => {
                write!(f, "{used} reclaim attempts in the last minute (budget {max})")
            }
            BudgetError::Bytes { left, needed } => write!(
                f,
                "{left} bytes left of the reclaim budget for this minute, {needed} needed"
            ),
        }
    }
}

/// One reclaim attempt as the agent made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub time: Timestamp,
    /// Bytes written to `memory.reclaim`.
    pub asked: u64,
    /// Bytes the cgroup's usage dropped by (as re-read).
    pub reclaimed: u64,
    /// The figures re-read right after the reclaim (refault counters to measure churn from).
    pub after: CacheFigures,
}

/// The attempts of the last minute (older ones are dropped as new ones come).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReclaimLedger {
    attempts: Vec<Attempt>,
}

fn within_window(a: &Attempt, now: Timestamp) -> bool {
    let age = now.as_nanosecond() - a.time.as_nanosecond();
    age < WINDOW_NS
}

impl ReclaimLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember `a`, forgetting attempts more than a minute older than it.
    pub fn record(&mut self, a: Attempt) {
        self.attempts.retain(|old| within_window(old, a.time));
        self.attempts.push(a);
    }

    /// Attempts within the minute before `now`, oldest first.
    pub fn recent(&self, now: Timestamp) -> impl Iterator<Item = &Attempt> {
        self.attempts.iter().filter(move |a| within_window(a, now))
    }

    /// The bytes `budget` still allows at `now`, given that a useful reclaim needs at least
    /// `needed` bytes; an error says which limit is spent.
    pub fn allowance(&self, budget: Budget, now: Timestamp, needed: u64) -> Result<u64, BudgetError> {
        let (used, asked) = self.recent(now).fold((0u32, 0u64), |(n, b), a| {
            (n.saturating_add(1), b.saturating_add(a.asked))
        });
        if used >= budget.attempts_per_minute {
            return Err(BudgetError::Attempts {
                used,
                max: budget.attempts_per_minute,
            });
        }
        let left = budget.bytes_per_minute.saturating_sub(asked);
        if left < needed || left == 0 {
            return Err(BudgetError::Bytes { left, needed });
        }
        Ok(left)
    }

    /// What the last attempt within the minute before `now` bought, judged by the refaults
    /// counted since it (`page_size` converts the kernel's page counts). `None` without one, or
    /// when the counters went backwards (a different cgroup).
    pub fn churn(&self, now: Timestamp, current: &CacheFigures, page_size: u64) -> Option<RefaultChurn> {
        let last = self.recent(now).last()?;
        let refaults = current
            .workingset_refault_file
            .checked_sub(last.after.workingset_refault_file)?;
        let activations = current
            .workingset_activate_file
            .checked_sub(last.after.workingset_activate_file)?;
        Some(RefaultChurn {
            reclaimed_bytes: last.reclaimed,
            refaulted_bytes: refaults.saturating_mul(page_size),
            activated_bytes: activations.saturating_mul(page_size),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn attempt(s: i64, asked: u64) -> Attempt {
        Attempt {
            time: at(s),
            asked,
            reclaimed: asked,
            after: CacheFigures::default(),
        }
    }

    #[test]
    fn attempts_per_minute_are_capped() {
        let budget = Budget {
            attempts_per_minute: 2,
            bytes_per_minute: 1000,
        };
        let mut l = ReclaimLedger::new();
        assert_eq!(l.allowance(budget, at(0), 10), Ok(1000));
        l.record(attempt(0, 100));
        l.record(attempt(30, 100));
        assert_eq!(
            l.allowance(budget, at(59), 10),
            Err(BudgetError::Attempts { used: 2, max: 2 })
        );
        // A minute after the first, one slot is free again.
        assert_eq!(l.allowance(budget, at(60), 10), Ok(900));
    }

    #[test]
    fn bytes_per_minute_are_capped() {
        let budget = Budget {
            attempts_per_minute: 10,
            bytes_per_minute: 1000,
        };
        let mut l = ReclaimLedger::new();
        l.record(attempt(0, 950));
        assert_eq!(
            l.allowance(budget, at(1), 100),
            Err(BudgetError::Bytes {
                left: 50,
                needed: 100
            })
        );
        assert_eq!(l.allowance(budget, at(1), 50), Ok(50));
        assert_eq!(l.allowance(budget, at(61), 100), Ok(1000));
    }

    #[test]
    fn old_attempts_are_forgotten() {
        let mut l = ReclaimLedger::new();
        l.record(attempt(0, 1));
        l.record(attempt(100, 1));
        assert_eq!(l.recent(at(100)).count(), 1);
        assert_eq!(l.attempts.len(), 1);
    }

    #[test]
    fn churn_counts_refaults_since_the_last_attempt() {
        let mut l = ReclaimLedger::new();
        let mut a = attempt(0, 400 << 20);
        a.after.workingset_refault_file = 1000;
        a.after.workingset_activate_file = 10;
        l.record(a);
        let now = CacheFigures {
            workingset_refault_file: 1000 + 51_200,
            workingset_activate_file: 10 + 25_600,
            ..CacheFigures::default()
        };
        let c = l.churn(at(5), &now, 4096).unwrap();
        assert_eq!(c.refaulted_bytes, 200 << 20);
        assert_eq!(c.activated_bytes, 100 << 20);
        assert!(c.is_hot());
        assert_eq!(l.churn(at(61), &now, 4096), None, "outside the window");
        let reset = CacheFigures::default();
        assert_eq!(l.churn(at(5), &reset, 4096), None, "counters went backwards");
    }
}
