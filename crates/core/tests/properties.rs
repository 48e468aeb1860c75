//! Property tests: the ranking comparator is a total preorder, and the grace and transition
//! boundaries hold for any instants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;

use headroom_core::Timestamp;
use headroom_core::manager::{grace_satisfied, still_reported};
use headroom_core::quantity::{Format, Quantity};
use headroom_core::rank::{FsTopology, RankFacts, RankKind, compare};
use headroom_core::signal::{Resource, Signal};
use headroom_core::threshold::{Threshold, ThresholdValue};
use proptest::prelude::*;

fn facts() -> impl Strategy<Value = RankFacts> {
    (any::<bool>(), any::<bool>(), -3i32..3, 0i64..5, 0i64..5).prop_map(
        |(has_stats, exceeds, priority, usage, request)| {
            let usage = Quantity::bytes(usage);
            let request = Quantity::bytes(request);
            RankFacts {
                has_stats,
                exceeds_request: exceeds,
                priority,
                usage,
                request,
                usage_over_request: Quantity::from_nanos(usage.nanos() - request.nanos(), Format::BinarySI),
            }
        },
    )
}

fn kinds() -> impl Strategy<Value = RankKind> {
    prop_oneof![
        Just(RankKind::Memory),
        Just(RankKind::Pid),
        Just(RankKind::for_signal(
            Signal::NodeFsInodesFree,
            FsTopology::default()
        )),
        Just(RankKind::Disk {
            resource: Resource::EphemeralStorage,
            measure: Default::default()
        }),
    ]
}

proptest! {
    #[test]
    fn comparator_is_a_total_preorder(kind in kinds(), a in facts(), b in facts(), c in facts()) {
        let ab = compare(kind, &a, &b).0;
        let ba = compare(kind, &b, &a).0;
        prop_assert_eq!(ab, ba.reverse(), "antisymmetric");
        prop_assert_eq!(compare(kind, &a, &a).0, Ordering::Equal, "reflexive");
        let bc = compare(kind, &b, &c).0;
        let ac = compare(kind, &a, &c).0;
        if ab != Ordering::Greater && bc != Ordering::Greater {
            prop_assert_ne!(ac, Ordering::Greater, "transitive");
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            prop_assert_eq!(ac, Ordering::Equal, "ties are transitive");
        }
    }

    #[test]
    fn grace_boundary_is_inclusive(start in 0i64..1_000_000, grace_s in 0i64..3600, delta_ms in -5_000i64..5_000) {
        let t = Threshold {
            signal: Signal::MemoryAvailable,
            value: ThresholdValue::Percentage(0.1),
            grace_period_ns: grace_s * 1_000_000_000,
            min_reclaim: None,
        };
        let first = Timestamp::from_second(1_700_000_000 + start).unwrap();
        let now_ns = first.as_nanosecond() + i128::from(grace_s) * 1_000_000_000 + i128::from(delta_ms) * 1_000_000;
        let now = Timestamp::from_nanosecond(now_ns).unwrap();
        prop_assert_eq!(grace_satisfied(&t, first, now), delta_ms >= 0);
    }

    #[test]
    fn transition_boundary_is_strict(start in 0i64..1_000_000, period_s in 1i64..3600, delta_ms in -5_000i64..5_000) {
        let last = Timestamp::from_second(1_700_000_000 + start).unwrap();
        let now_ns = last.as_nanosecond() + i128::from(period_s) * 1_000_000_000 + i128::from(delta_ms) * 1_000_000;
        let now = Timestamp::from_nanosecond(now_ns).unwrap();
        prop_assert_eq!(still_reported(last, now, period_s * 1_000_000_000), delta_ms < 0);
    }
}
