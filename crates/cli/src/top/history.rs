//! The memory signals over the last minutes: one point per sample (ours) or per recorded pass
//! (a flight recording), the oldest dropped once they fall out of the window.

use std::collections::VecDeque;

use headroom_core::Timestamp;
use headroom_core::signal::Signal;

use crate::status::report::StatusReport;

/// The two memory signals at one moment (available bytes; `None` = not observed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub time: Timestamp,
    pub memory: Option<i64>,
    pub allocatable: Option<i64>,
    /// The pass evicted a pod (known from a recording only).
    pub evicted: bool,
}

impl Point {
    /// The point a status report gives (our own sample, taken at `time` by our clock: the
    /// Summary's time has one-second steps, and a `--root` tree's is its capture time).
    pub fn from_report(report: &StatusReport, time: Timestamp) -> Point {
        Point {
            time,
            memory: report
                .kubelet
                .memory_available
                .as_ref()
                .map(|a| a.available_bytes),
            allocatable: report
                .kubelet
                .allocatable_memory_available
                .as_ref()
                .map(|a| a.available_bytes),
            evicted: false,
        }
    }

    pub fn value(&self, signal: Signal) -> Option<i64> {
        match signal {
            Signal::AllocatableMemoryAvailable => self.allocatable,
            _ => self.memory,
        }
    }
}

/// Points in time order within `window_ns` of the newest.
#[derive(Clone, Debug)]
pub struct History {
    points: VecDeque<Point>,
    window_ns: i128,
}

/// More points than any chart has columns for (braille: two per cell) at 1 s over an hour.
const MAX_POINTS: usize = 4096;

impl History {
    pub fn new(window_ns: i64) -> History {
        History {
            points: VecDeque::new(),
            window_ns: i128::from(window_ns.max(1)),
        }
    }

    pub fn window_ns(&self) -> i128 {
        self.window_ns
    }

    /// Add a point; one older than the newest is ignored (a clock step back, or a pass read
    /// twice), and points that fell out of the window are dropped.
    pub fn push(&mut self, point: Point) {
        if self.points.back().is_some_and(|last| point.time <= last.time) {
            return;
        }
        self.points.push_back(point);
        let newest = point.time.as_nanosecond();
        while self
            .points
            .front()
            .is_some_and(|p| newest - p.time.as_nanosecond() > self.window_ns)
            || self.points.len() > MAX_POINTS
        {
            self.points.pop_front();
        }
    }

    pub fn points(&self) -> impl Iterator<Item = &Point> {
        self.points.iter()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn newest(&self) -> Option<&Point> {
        self.points.back()
    }

    /// Passes in the window that evicted a pod.
    pub fn evictions(&self) -> usize {
        self.points.iter().filter(|p| p.evicted).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64, memory: i64) -> Point {
        Point {
            time: Timestamp::from_second(s).unwrap(),
            memory: Some(memory),
            allocatable: None,
            evicted: false,
        }
    }

    #[test]
    fn points_out_of_the_window_or_out_of_order_are_dropped() {
        let mut h = History::new(10_000_000_000);
        h.push(at(100, 1));
        h.push(at(105, 2));
        h.push(at(104, 9)); // older than the newest: ignored
        h.push(at(111, 3)); // 100 is now 11 s old
        let kept: Vec<i64> = h.points().filter_map(|p| p.memory).collect();
        assert_eq!(kept, vec![2, 3]);
        assert_eq!(h.newest().and_then(|p| p.value(Signal::MemoryAvailable)), Some(3));
        assert_eq!(
            h.points()
                .next()
                .and_then(|p| p.value(Signal::AllocatableMemoryAvailable)),
            None
        );
    }
}
