//! Turning stored rows into passes, one chain at a time. A decoder holds the tips of the
//! chains it was given; chains are independent (a key pass and its deltas), so several
//! decoders can work side by side, each on its own chains.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use headroom_core::Timestamp;
use headroom_core::pod::Pod;
use serde::Deserialize;

use super::chain::{PodsPlan, Tip};
use super::read::Samples;
use super::{Inflater, StoreError};
use crate::model::{CgroupSample, DecisionRecord, Pass, Readings};
use crate::pass_time::{PassTexts, from_marked};
use headroom_linux::memcg::MemcgSample;
use headroom_linux::meminfo::Meminfo;
use headroom_linux::psi::Psi;

/// One `passes` row as read from the database, blobs still compressed.
pub(super) struct Row {
    pub id: i64,
    pub time_ns: i64,
    pub trigger: String,
    pub light: bool,
    pub key_id: i64,
    pub base_id: Option<i64>,
    pub config_id: i64,
    pub woken_by: Option<String>,
    pub decision: Vec<u8>,
    pub summary: Vec<u8>,
    pub samples: Option<Vec<u8>>,
    /// The pass's pod list; `None`: a pass before the range, decoded only as the next one's
    /// base.
    pub pods: Option<Arc<Vec<Pod>>>,
}

/// A decoded pass on its way to the walk, which completes its pods by `plan`.
pub(super) struct Decoded {
    pub key_id: i64,
    pub pass: Pass,
    pub plan: PodsPlan,
}

pub(super) struct Decoder<'a> {
    pub dir: &'a Path,
    /// Which raw samples to decode besides the Summary.
    pub samples: Samples,
    /// Whether the recording marks the pass time in whole seconds (schema 3 on).
    pub marks_seconds: bool,
    tips: HashMap<i64, Tip>,
    /// Chains whose tip was let go ([`super::MAX_CHAINS`]).
    let_go: HashSet<i64>,
    inflater: Inflater,
}

impl<'a> Decoder<'a> {
    pub fn new(dir: &'a Path, samples: Samples, marks_seconds: bool) -> Decoder<'a> {
        Decoder {
            dir,
            samples,
            marks_seconds,
            tips: HashMap::new(),
            let_go: HashSet::new(),
            inflater: Inflater::default(),
        }
    }

    /// The pass of `row` (`None`: a pass before the range, or of a chain whose key pass is
    /// before it).
    pub fn decode(&mut self, row: Row) -> Result<Option<Decoded>, StoreError> {
        let id = row.id;
        let damaged = |detail: String| StoreError::Damaged {
            dir: self.dir.to_path_buf(),
            detail,
        };
        let mut tip = match row.base_id {
            None => Tip::default(),
            Some(base) => {
                let Some(tip) = self.tips.remove(&row.key_id) else {
                    if self.let_go.contains(&row.key_id) {
                        return Err(damaged(format!(
                            "pass {id}: its chain (key pass {}) was let go: a recording with more \
                             than {} chains of passes at once",
                            row.key_id,
                            super::MAX_CHAINS
                        )));
                    }
                    // A chain that started before the range's first key pass: skip.
                    return Ok(None);
                };
                if tip.id != base {
                    return Err(damaged(format!("pass {id}: its base pass {base} is missing")));
                }
                tip
            }
        };
        tip.id = id;
        let has_base = row.base_id.is_some();
        let stream_err = |name: &'static str| move |e: String| damaged(format!("pass {id}: {name}: {e}"));
        let inflater = &mut self.inflater;
        tip.decision(&row.decision, has_base, inflater)
            .map_err(stream_err("decision"))?;
        tip.summary(&row.summary, has_base, inflater)
            .map_err(stream_err("summary"))?;
        if self.samples != Samples::Skip {
            let blob = row.samples.as_deref().unwrap_or_default();
            tip.samples(blob, has_base, inflater)
                .map_err(stream_err("samples"))?;
        }
        let Some(pods) = row.pods else {
            tip.not_handed_on();
            self.keep(row.key_id, tip);
            return Ok(None);
        };
        let decision = DecisionRecord::deserialize(&tip.decision.tree)
            .map_err(|e| damaged(format!("pass {id}: decision: {e}")))?;
        let time = Timestamp::from_nanosecond(i128::from(row.time_ns))
            .map_err(|e| damaged(format!("pass {id}: time {}: {e}", row.time_ns)))?;
        // The pass time as text once per pass: every marked time of the pass reads as it.
        let texts = PassTexts::new(time, self.marks_seconds);
        let (readings, plan) = readings(&mut tip, row.base_id, self.samples, &texts)
            .map_err(|e| damaged(format!("pass {id}: readings: {e}")))?;
        let woken_by = match row.woken_by {
            None => Vec::new(),
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| damaged(format!("pass {id}: woken_by {text:?}: {e}")))?,
        };
        self.keep(row.key_id, tip);
        let pass = Pass {
            id,
            time,
            trigger: row.trigger,
            woken_by,
            light: row.light,
            config_id: row.config_id,
            readings,
            pods,
            decision,
        };
        Ok(Some(Decoded {
            key_id: row.key_id,
            pass,
            plan,
        }))
    }
}

impl Decoder<'_> {
    /// Keep `tip` as its chain's, and beyond [`super::MAX_CHAINS`] let go of the stalest chain.
    fn keep(&mut self, key_id: i64, tip: Tip) {
        self.tips.insert(key_id, tip);
        if let Some(stalest) = super::stalest_beyond_bound(&self.tips, |k| k == key_id, |t| t.id) {
            self.tips.remove(&stalest);
            self.let_go.insert(stalest);
        }
    }
}

/// The node-level part of a pass's raw samples: [`Readings`] without `pods`, which is skipped,
/// not deserialized (most of the samples: four cgroups a pod).
#[derive(Deserialize)]
struct NodeLevel {
    #[serde(default)]
    meminfo: Option<Meminfo>,
    #[serde(default)]
    psi: Option<Psi>,
    #[serde(default)]
    node: Option<MemcgSample>,
    #[serde(default)]
    pods_cgroup: Option<CgroupSample>,
}

impl NodeLevel {
    /// Every field of `Readings` named (no `..`): a field added there does not compile here
    /// until it is decided whether it is node-level.
    fn into_readings(self) -> Readings {
        let NodeLevel {
            meminfo,
            psi,
            node,
            pods_cgroup,
        } = self;
        Readings {
            summary: Default::default(),
            meminfo,
            psi,
            node,
            pods_cgroup,
            pods: Vec::new(),
        }
    }
}

/// The typed readings of a pass (the Summary alone without `samples`), read from the marked
/// trees with the pass time in place of the mark (the trees stay marked: they are the next
/// pass's base), and how the walk completes the Summary's pods.
fn readings(
    tip: &mut Tip,
    base_id: Option<i64>,
    samples: Samples,
    texts: &PassTexts,
) -> Result<(Readings, PodsPlan), serde_json::Error> {
    let (summary, plan) = tip.typed_summary(base_id, texts)?;
    let tree = &tip.samples.tree;
    let mut readings: Readings = match samples {
        Samples::Skip => Readings::default(),
        Samples::NodeLevel => from_marked::<NodeLevel>(tree, texts)?.into_readings(),
        Samples::All => from_marked(tree, texts)?,
    };
    readings.summary = summary;
    Ok((readings, plan))
}
