//! systemd readiness and watchdog (`Type=notify`, `WatchdogSec=`) without a dependency: one
//! datagram per message to `$NOTIFY_SOCKET`. The loop calls [`SdNotify::pass_done`] after every
//! pass: the first says `READY=1`, and each says `WATCHDOG=1` (at most every half watchdog
//! period), so a decision loop that stops passing (a hung read, a deadlock) is restarted by
//! systemd, not left exporting stale figures. Outside systemd (no `$NOTIFY_SOCKET`) it does
//! nothing.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub(crate) struct SdNotify {
    /// Where to send, `None` outside systemd.
    socket: Option<Target>,
    /// Ping at most this often (half of `WATCHDOG_USEC`); `None`: no watchdog.
    watchdog_every: Option<Duration>,
    last_ping: Option<Instant>,
    ready_sent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Path(PathBuf),
    /// `@name`: a Linux abstract socket.
    Abstract(Vec<u8>),
}

impl SdNotify {
    /// From `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` (ignored when it names
    /// another process), as systemd sets them.
    pub(crate) fn from_env() -> SdNotify {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let usec = std::env::var("WATCHDOG_USEC").ok();
        let pid = std::env::var("WATCHDOG_PID").ok();
        let ours = pid.is_none_or(|p| p.trim() == std::process::id().to_string());
        let watchdog = usec
            .filter(|_| ours)
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|u| *u > 0)
            .map(Duration::from_micros);
        SdNotify::new(socket.map(PathBuf::from), watchdog)
    }

    /// `socket` as `$NOTIFY_SOCKET` gives it (`@` for abstract), `watchdog` the
    /// `WatchdogSec=` period.
    pub(crate) fn new(socket: Option<PathBuf>, watchdog: Option<Duration>) -> SdNotify {
        let socket = socket.map(|p| {
            let bytes = p.as_os_str().as_encoded_bytes();
            match bytes.strip_prefix(b"@") {
                Some(name) => Target::Abstract(name.to_vec()),
                None => Target::Path(p),
            }
        });
        SdNotify {
            watchdog_every: socket.as_ref().and(watchdog).map(|w| w / 2),
            socket,
            last_ping: None,
            ready_sent: false,
        }
    }

    /// A pass finished.
    pub(crate) fn pass_done(&mut self) {
        if self.socket.is_none() {
            return;
        }
        if !self.ready_sent {
            self.ready_sent = true;
            self.send("READY=1\nSTATUS=deciding\n");
        }
        let Some(every) = self.watchdog_every else {
            return;
        };
        let now = Instant::now();
        if self.last_ping.is_none_or(|t| now.duration_since(t) >= every) {
            self.last_ping = Some(now);
            self.send("WATCHDOG=1\n");
        }
    }

    fn send(&self, message: &str) {
        let Some(target) = &self.socket else { return };
        let result = UnixDatagram::unbound().and_then(|s| match target {
            Target::Path(p) => s.send_to(message.as_bytes(), p),
            Target::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                s.send_to_addr(message.as_bytes(), &addr)
            }
        });
        if let Err(e) = result {
            tracing::warn!("sd_notify {:?}: {e}", message.trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(s: &UnixDatagram) -> Option<String> {
        let mut buf = [0u8; 256];
        s.recv(&mut buf)
            .ok()
            .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    #[test]
    fn ready_once_then_watchdog_pings_at_most_every_half_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_nonblocking(true).unwrap();
        let mut sd = SdNotify::new(Some(path), Some(Duration::from_millis(200)));
        sd.pass_done();
        assert_eq!(recv(&sock).as_deref(), Some("READY=1\nSTATUS=deciding\n"));
        assert_eq!(recv(&sock).as_deref(), Some("WATCHDOG=1\n"));
        sd.pass_done(); // within half the period: no ping
        assert_eq!(recv(&sock), None);
        std::thread::sleep(Duration::from_millis(110));
        sd.pass_done();
        assert_eq!(recv(&sock).as_deref(), Some("WATCHDOG=1\n"));
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_abstract_names_are_recognised() {
        let mut sd = SdNotify::new(None, Some(Duration::from_secs(1)));
        sd.pass_done();
        assert!(sd.watchdog_every.is_none());
        let sd = SdNotify::new(Some(PathBuf::from("@/org/x")), None);
        assert_eq!(sd.socket, Some(Target::Abstract(b"/org/x".to_vec())));
    }
}
