//! What one frame shows: the latest snapshot, the history, and what went wrong since (a
//! failed refresh keeps the last good snapshot on screen and says so).

use headroom_core::Timestamp;

use super::history::{History, Point};
use super::recording::RecordingFeed;
use super::sample::{Sampler, Snapshot};

/// Where the history comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistorySource {
    /// Our own samples since `top` started.
    OwnSamples,
    /// A flight recording: its directory, its node, and the newest pass read.
    Recording {
        dir: String,
        node: Option<String>,
        last_pass: Option<Timestamp>,
    },
}

/// Everything a frame is drawn from.
pub struct Model {
    pub snapshot: Option<Snapshot>,
    pub history: History,
    pub history_source: HistorySource,
    /// The last refresh's error (the snapshot shown is then an older one).
    pub sample_error: Option<String>,
    /// The last error reading the recording.
    pub recording_error: Option<String>,
    /// Time between refreshes, for the header (`every 1s`).
    pub interval: String,
    /// When the shown snapshot was taken (our clock).
    pub taken_at: Option<Timestamp>,
}

impl Model {
    pub fn new(history: History, interval: String) -> Model {
        Model {
            snapshot: None,
            history,
            history_source: HistorySource::OwnSamples,
            sample_error: None,
            recording_error: None,
            interval,
            taken_at: None,
        }
    }

    /// One refresh: a new snapshot (or the error), then the history: the recording's new
    /// passes when one is read, else this sample.
    pub fn refresh(&mut self, sampler: &Sampler, feed: Option<&mut RecordingFeed>, now: Timestamp) {
        match sampler.sample() {
            Ok(snapshot) => {
                if feed.is_none() {
                    self.history.push(Point::from_report(&snapshot.report, now));
                }
                self.snapshot = Some(snapshot);
                self.sample_error = None;
                self.taken_at = Some(now);
            }
            Err(e) => self.sample_error = Some(crate::error_line(&e)),
        }
        if let Some(feed) = feed {
            self.recording_error = feed.read_new(now, &mut self.history).err();
            self.history_source = HistorySource::Recording {
                dir: feed.dir().display().to_string(),
                node: feed.node().map(str::to_string),
                last_pass: feed.last_pass(),
            };
        }
    }
}
