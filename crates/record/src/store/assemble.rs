//! The walk's side of reusing typed pods: it completes each decoded pass's pods with those of
//! the chain's pass before that did not move, and takes the pods back once the pass has been
//! handed on, for the next pass of the chain. The decoding threads, which read ahead, never
//! hold typed pods, so nothing is copied: an idle pod is moved from one pass to the next.
//!
//! It also lends light passes (only the node and pods cgroups read) the pod figures of the
//! last pass before them that had some, when the walk is asked to
//! ([`super::WalkOptions::fill_light`]).

use std::collections::HashMap;

use headroom_core::summary::PodStats;

use super::chain::PodsPlan;
use super::decode::Decoded;
use crate::model::Pass;
use crate::pass_time::Retime;

use super::MAX_CHAINS;

/// The last handed-on pass of a chain and its pods.
struct ChainPods {
    id: i64,
    pods: Vec<PodStats>,
}

/// Where the pods a light pass is lent are kept.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Lender {
    /// No pass handed on yet.
    #[default]
    None,
    /// The last pass of this chain (by key pass id).
    Chain(i64),
    /// [`Assembler::spare`]: lent to a light pass of their own chain, whose entry now holds
    /// that pass's (empty) pods.
    Spare,
}

#[derive(Default)]
pub(super) struct Assembler {
    /// By key pass id.
    chains: HashMap<i64, ChainPods>,
    /// The pods of the last pass handed on that was not lent any.
    lender: Lender,
    spare: Vec<PodStats>,
}

impl Assembler {
    /// The pass of `d`, its pods completed.
    pub fn complete(&mut self, d: Decoded) -> Result<Pass, String> {
        let Decoded {
            key_id,
            mut pass,
            plan,
        } = d;
        let PodsPlan::Reuse {
            base_id,
            from,
            to,
            moved,
        } = plan
        else {
            return Ok(pass);
        };
        let id = pass.id;
        let base = self
            .chains
            .get_mut(&key_id)
            .filter(|c| c.id == base_id && c.pods.len() == moved.len())
            .ok_or_else(|| {
                format!(
                    "pass {id}: the figures of its base pass {base_id} were not kept (a recording \
                     with more than {MAX_CHAINS} chains of passes at once)"
                )
            })?;
        let retime = Retime { from: &from, to: &to };
        let mut fresh = std::mem::take(&mut pass.readings.summary.pods).into_iter();
        let mut pods = Vec::with_capacity(moved.len());
        for (mut kept, moved) in base.pods.drain(..).zip(moved) {
            if moved {
                let read = fresh.next();
                kept = read.ok_or_else(|| format!("pass {id}: fewer pods decoded than moved"))?;
            } else {
                retime.pod(&mut kept);
            }
            pods.push(kept);
        }
        pass.readings.summary.pods = pods;
        Ok(pass)
    }

    fn lender_pods(&mut self) -> Option<&mut Vec<PodStats>> {
        match self.lender {
            Lender::None => None,
            Lender::Chain(k) => self.chains.get_mut(&k).map(|c| &mut c.pods),
            Lender::Spare => Some(&mut self.spare),
        }
    }

    /// Lend a light pass without pods the pods of the last pass handed on that was not lent
    /// any; whether it was lent.
    pub fn lend(&mut self, pass: &mut Pass) -> bool {
        if !pass.light || !pass.readings.summary.pods.is_empty() {
            return false;
        }
        match self.lender_pods() {
            Some(pods) => {
                pass.readings.summary.pods = std::mem::take(pods);
                true
            }
            None => false,
        }
    }

    /// Take back the pods of a pass that was handed on (of chain `key_id`): the next pass of
    /// the chain is completed from them; `lent`: they were lent ([`Assembler::lend`]).
    pub fn keep(&mut self, key_id: i64, id: i64, pods: Vec<PodStats>, lent: bool) {
        let own = if lent {
            if self.lender == Lender::Chain(key_id) {
                // The chain's entry becomes this pass's: the lent pods wait apart.
                self.lender = Lender::Spare;
            }
            if let Some(slot) = self.lender_pods() {
                *slot = pods;
            }
            Vec::new()
        } else {
            self.lender = Lender::Chain(key_id);
            self.spare = Vec::new();
            pods
        };
        self.chains.insert(key_id, ChainPods { id, pods: own });
        // Beyond the bound, the stalest chain goes (never this one, nor the lender).
        let lender = self.lender;
        let keep = |k: i64| k == key_id || Lender::Chain(k) == lender;
        while let Some(k) = super::stalest_beyond_bound(&self.chains, keep, |c| c.id) {
            self.chains.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::DecisionRecord;
    use crate::pass_time::PassTexts;
    use headroom_core::Timestamp;

    fn decoded(id: i64, plan: PodsPlan) -> Decoded {
        Decoded {
            key_id: 1,
            pass: Pass {
                id,
                time: Timestamp::from_second(1_800_000_000 + id).unwrap(),
                trigger: "period".into(),
                woken_by: Vec::new(),
                light: false,
                config_id: 1,
                readings: Default::default(),
                pods: Default::default(),
                decision: DecisionRecord::default(),
            },
            plan,
        }
    }

    fn reuse(base_id: i64, moved: usize) -> PodsPlan {
        let t = PassTexts::new(Timestamp::from_second(1_800_000_000).unwrap(), true);
        PodsPlan::Reuse {
            base_id,
            from: t.clone(),
            to: t,
            moved: vec![false; moved],
        }
    }

    #[test]
    fn a_pass_whose_base_pods_are_not_at_hand_is_refused_not_guessed() {
        let mut a = Assembler::default();
        let err = a.complete(decoded(2, reuse(1, 3))).unwrap_err();
        assert!(
            err.contains("pass 2: the figures of its base pass 1 were not kept"),
            "{err}"
        );
        // Kept, but for another pass of the chain, or with another number of pods.
        a.keep(1, 5, vec![PodStats::default(); 3], false);
        assert!(a.complete(decoded(7, reuse(6, 3))).is_err());
        assert!(a.complete(decoded(6, reuse(5, 2))).is_err());
        let pass = a.complete(decoded(6, reuse(5, 3))).unwrap();
        assert_eq!(pass.readings.summary.pods.len(), 3);
    }
}
