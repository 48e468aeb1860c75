//! One chain's state while reading it: the trees of its last decoded pass (the base of the
//! next pass's deltas), where their leaves lie, and which pods of its Summary moved since the
//! pass before, so that a pass rebuilds only those (the walk keeps the others' typed figures:
//! [`super::assemble`]).

use std::ops::Range;

use headroom_core::summary::{NodeStats, PodStats, Summary};
use serde_json::Value;

use super::Inflater;
use super::append::{DELTA, WHOLE};
use crate::leaf_delta::{self, Index};
use crate::pass_time::{PassTexts, from_marked};

/// One stream's tree and its index.
#[derive(Default)]
pub(super) struct Stream {
    pub tree: Value,
    index: Index,
}

/// What decoding a stream changed.
enum Moved {
    /// Stored whole: anything may have changed, shape included.
    All,
    /// These leaves (positions in leaf order, ascending).
    Leaves(Vec<u64>),
}

impl Stream {
    /// Decode one stream's blob over this tree (the base pass's same stream when `has_base`).
    fn decode(&mut self, blob: &[u8], has_base: bool, inflater: &mut Inflater) -> Result<Moved, String> {
        let Some((&tag, body)) = blob.split_first() else {
            return Err("empty".into());
        };
        let body = inflater
            .unzip(body)
            .map_err(|e| format!("does not decompress: {e}"))?;
        match tag {
            WHOLE => {
                self.tree = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
                self.index = Index::of(&self.tree);
                Ok(Moved::All)
            }
            DELTA if has_base => leaf_delta::apply_indexed(&mut self.tree, &self.index, &body)
                .map(Moved::Leaves)
                .map_err(|e| e.to_string()),
            DELTA => Err("a delta on a key pass".into()),
            other => Err(format!("unknown stream tag {other}")),
        }
    }
}

/// What the decoder knows of the typed pods of a chain's last handed-on pass (the walk holds
/// the pods themselves): the texts they were read with, and which have moved in the tree since.
struct HandedPods {
    texts: PassTexts,
    moved: Vec<bool>,
}

/// How the pods of a decoded pass's Summary are to be completed by the walk.
pub(super) enum PodsPlan {
    /// They are all there.
    Whole,
    /// Only the pods that moved are there, in order: pod `i` of the pass is the next of them
    /// where `moved[i]`, else pod `i` of the chain's pass before (`base_id`, handed on just
    /// before this one), moved from its time to this pass's ([`crate::pass_time::Retime`]).
    Reuse {
        base_id: i64,
        from: PassTexts,
        to: PassTexts,
        moved: Vec<bool>,
    },
}

/// A chain's last decoded pass.
#[derive(Default)]
pub(super) struct Tip {
    pub id: i64,
    pub decision: Stream,
    pub summary: Stream,
    pub samples: Stream,
    /// The leaf range of each element of the Summary tree's `pods` (`None`: no such array).
    pod_ranges: Option<Vec<Range<u64>>>,
    /// `None`: the pass before was not handed on typed in the usual shape, or the Summary
    /// tree changed shape since.
    typed: Option<HandedPods>,
}

impl Tip {
    pub fn decision(&mut self, blob: &[u8], has_base: bool, inflater: &mut Inflater) -> Result<(), String> {
        self.decision.decode(blob, has_base, inflater).map(drop)
    }

    pub fn samples(&mut self, blob: &[u8], has_base: bool, inflater: &mut Inflater) -> Result<(), String> {
        self.samples.decode(blob, has_base, inflater).map(drop)
    }

    /// Decode the Summary stream and note which pods it moved.
    pub fn summary(&mut self, blob: &[u8], has_base: bool, inflater: &mut Inflater) -> Result<(), String> {
        match self.summary.decode(blob, has_base, inflater)? {
            Moved::All => {
                self.pod_ranges = pod_ranges(&self.summary.tree);
                self.typed = None;
            }
            Moved::Leaves(at) => match (&self.pod_ranges, &mut self.typed) {
                (Some(ranges), Some(typed)) => {
                    for p in at {
                        // Ranges are in order and back to back: the last one starting at or
                        // before `p` holds it, if any does.
                        let i = ranges.partition_point(|r| r.start <= p);
                        if let Some(i) = i.checked_sub(1)
                            && ranges[i].contains(&p)
                            && let Some(m) = typed.moved.get_mut(i)
                        {
                            *m = true;
                        }
                    }
                }
                _ => self.typed = None,
            },
        }
        Ok(())
    }

    /// Forget the typed pods: the walk will not have this pass's (a pass before the range).
    pub fn not_handed_on(&mut self) {
        self.typed = None;
    }

    /// The typed Summary of the tree as it stands, its marks read as `texts`, and how the walk
    /// completes its pods: pods that did not move since the chain's last handed-on pass are
    /// left out (the walk has them, and moves them to this pass's time), the rest are
    /// deserialized. Completed, the same Summary as `from_marked::<Summary>` of the whole tree
    /// (tested).
    pub fn typed_summary(
        &mut self,
        base_id: Option<i64>,
        texts: &PassTexts,
    ) -> Result<(Summary, PodsPlan), serde_json::Error> {
        let tree = &self.summary.tree;
        let parts = tree
            .as_object()
            .and_then(|m| Some((m.get("node")?, m.get("pods")?.as_array()?)));
        let (Some((node, pods)), Some(_)) = (parts, &self.pod_ranges) else {
            // Not the usual shape: read it whole, as serde says it.
            self.typed = None;
            return Ok((from_marked(tree, texts)?, PodsPlan::Whole));
        };
        let node: NodeStats = from_marked(node, texts)?;
        let handed = self.typed.take().filter(|c| c.moved.len() == pods.len());
        let (out, plan) = match (handed, base_id) {
            (Some(h), Some(base_id)) => {
                let mut out = Vec::new();
                for (stored, &moved) in pods.iter().zip(&h.moved) {
                    if moved {
                        out.push(from_marked(stored, texts)?);
                    }
                }
                let plan = PodsPlan::Reuse {
                    base_id,
                    from: h.texts,
                    to: texts.clone(),
                    moved: h.moved,
                };
                (out, plan)
            }
            _ => {
                let out = pods
                    .iter()
                    .map(|stored| from_marked::<PodStats>(stored, texts))
                    .collect::<Result<Vec<_>, _>>()?;
                (out, PodsPlan::Whole)
            }
        };
        self.typed = Some(HandedPods {
            texts: texts.clone(),
            moved: vec![false; pods.len()],
        });
        Ok((Summary { node, pods: out }, plan))
    }
}

/// Where each pod of a stored Summary lies among the tree's leaves, in the order the deltas
/// count them.
fn pod_ranges(tree: &Value) -> Option<Vec<Range<u64>>> {
    let mut at = 0;
    let mut ranges = None;
    for (key, v) in tree.as_object()? {
        match (key.as_str(), v) {
            ("pods", Value::Array(pods)) => {
                let mut r = Vec::with_capacity(pods.len());
                for p in pods {
                    let n = leaf_delta::leaf_count(p);
                    r.push(at..at + n);
                    at += n;
                }
                ranges = Some(r);
            }
            _ => at += leaf_delta::leaf_count(v),
        }
    }
    ranges
}
