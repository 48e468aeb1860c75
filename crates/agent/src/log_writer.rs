//! A writer that never blocks its caller: lines go into a bounded queue that one thread
//! writes out; when the queue is full (the reader of stdout/stderr stalled, a full pipe) the
//! line is dropped and counted instead of freezing the decision loop.
//!
//! The decision lines are also on `/decision` and in the metrics, so a dropped line loses no
//! decision; a frozen loop would lose every later one.

use prometheus_client::metrics::counter::Counter;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Lines held while the sink is slow; beyond this they are dropped.
pub const QUEUE_LINES: usize = 1024;

enum Msg {
    Bytes(Vec<u8>),
    /// Reply once everything queued before has been written.
    Drained(SyncSender<()>),
}

/// The sending side; clone it freely (every clone feeds the same queue and thread).
#[derive(Clone)]
pub struct LineWriter {
    tx: SyncSender<Msg>,
    dropped: Counter,
}

impl LineWriter {
    /// Start the thread that writes to `sink`; `dropped` counts the lines that did not fit.
    pub fn spawn(
        name: &str,
        sink: Box<dyn Write + Send>,
        capacity: usize,
        dropped: Counter,
    ) -> io::Result<LineWriter> {
        let (tx, rx) = sync_channel(capacity);
        std::thread::Builder::new()
            .name(format!("headroom-{name}"))
            .spawn(move || drain_into(rx, sink))?;
        Ok(LineWriter { tx, dropped })
    }

    /// Wait (at most `timeout`) until what was queued so far is written: before exit.
    pub fn drain(&self, timeout: Duration) {
        let (tx, rx) = sync_channel(1);
        if self.tx.try_send(Msg::Drained(tx)).is_ok() {
            let _ = rx.recv_timeout(timeout);
        }
    }
}

fn drain_into(rx: Receiver<Msg>, mut sink: Box<dyn Write + Send>) {
    for msg in rx {
        match msg {
            // A closed stdout is not the agent's problem: the lines are dropped.
            Msg::Bytes(b) => {
                let _ = sink.write_all(&b);
                let _ = sink.flush();
            }
            Msg::Drained(done) => {
                let _ = done.try_send(());
            }
        }
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.tx.try_send(Msg::Bytes(buf.to_vec())) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.inc();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink that blocks until released (a pipe nobody reads).
    struct Stalled(Arc<Mutex<()>>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _held = self.0.lock().unwrap();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_drops_and_counts_lines_instead_of_blocking() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let dropped = Counter::default();
        let mut w = LineWriter::spawn("test", Box::new(Stalled(gate.clone())), 4, dropped.clone()).unwrap();
        for i in 0..100 {
            w.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        // The writes returned while the sink is held (a blocking writer would hang here).
        assert!(dropped.get() >= 90, "dropped {}", dropped.get());
        drop(held);
        w.drain(Duration::from_secs(5));
    }
}
