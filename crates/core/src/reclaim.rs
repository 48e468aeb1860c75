//! Reclaim before evict: an opt-in policy beside the kubelet's (issue #16, docs/reclaim-first.md).
//!
//! The kubelet counts active page cache as used memory (`workingSet = usage - inactive_file`),
//! so it evicts pods while the kernel could simply drop clean cache. Under
//! [`Policy::ReclaimFirst`], when a sync would evict for a memory threshold and the working
//! set holds enough clean file cache to lift the signal back over the threshold, the agent
//! first asks the kernel to reclaim (cgroup v2 `memory.reclaim`), re-reads, re-synchronizes,
//! and evicts only if the threshold is still met.
//!
//! Everything here is sans-IO: the kernel's figures and the time come in as values, a [`Plan`]
//! comes out. The pieces:
//! - [`estimate`]: how many bytes of the working set are clean file cache the kernel can drop
//!   ([`Reclaimable`]), from `memory.stat` figures ([`CacheFigures`]);
//! - [`ReclaimLedger`] + [`Budget`]: attempts and bytes per minute, and refault evidence, so the
//!   agent never reclaims in a loop;
//! - [`plan`] (before acting) and [`plan_after_reclaim`] (after one reclaim and a fresh sync).
//!
//! The safety rule, checked by a property test: reclaim-first only ever evicts a pod the kubelet
//! policy evicts at the same sync, and it never holds back when dropping every reclaimable byte
//! could not lift the signal over the threshold (the anonymous-growth case evicts at once).

use std::fmt;
use std::str::FromStr;

mod budget;
mod estimate;
mod plan;

pub use budget::{Attempt, Budget, BudgetError, ReclaimLedger, WINDOW_NS};
pub use estimate::{CacheFigures, Reclaimable, RefaultChurn, estimate};
pub use plan::{
    Covered, EvictBecause, HoldBecause, Plan, PlanInputs, ReclaimAsk, plan, plan_after_reclaim,
    plan_rules_1_to_4, shortfall,
};

/// Which eviction policy acts on a sync's decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Exactly the kubelet's: evict as `synchronize` decided.
    #[default]
    Kubelet,
    /// Ask the kernel to drop clean file cache first; evict only if the threshold is still met.
    ReclaimFirst,
}

impl Policy {
    pub const ALL: [Policy; 2] = [Policy::Kubelet, Policy::ReclaimFirst];

    /// The stable code flags, logs, JSON and metric labels use.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Kubelet => "kubelet",
            Policy::ReclaimFirst => "reclaim-first",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--policy` value that is neither `kubelet` nor `reclaim-first`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?}: expected `kubelet` (the default, exactly the kubelet's) or `reclaim-first`")]
pub struct PolicyError(pub String);

impl FromStr for Policy {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| PolicyError(s.to_string()))
    }
}

impl serde::Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_codes_round_trip() {
        for p in Policy::ALL {
            assert_eq!(p.as_str().parse::<Policy>(), Ok(p));
            assert_eq!(p.to_string(), p.as_str());
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
        }
        assert_eq!(Policy::default(), Policy::Kubelet);
        let err = "reclaim".parse::<Policy>().unwrap_err();
        assert!(err.to_string().contains("\"reclaim\""), "{err}");
        assert!(serde_json::from_str::<Policy>("\"Kubelet\"").is_err());
    }
}
