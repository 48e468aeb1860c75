//! The HTTP server's listener, made to survive its clients: a connection cap, an idle timeout
//! and a lifetime bound per connection, and accept errors (out of file descriptors) waited
//! out instead of ending the server.
//!
//! Why: a scraper pool, a port scan or a slow client can open connections faster than they
//! close. Without a cap every connection holds a file descriptor until the process runs out,
//! and an idle keep-alive connection was never closed at all.

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// At most this many connections are open at once; more wait in the kernel's accept queue
/// until one closes (an idle one closes within [`IDLE_TIMEOUT`]).
pub(crate) const MAX_CONNECTIONS: usize = 128;
/// A connection that neither sends nor takes a byte for this long is closed (also bounds
/// how long a client may take to send its request headers).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// No connection lives longer than this, however it trickles (slowloris).
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(60);
/// Pause after a failed accept (EMFILE/ENFILE: no descriptor free) before the next try.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A TCP listener with a connection cap; its streams time out when idle.
pub(crate) struct GuardedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
    lifetime: Duration,
}

impl GuardedListener {
    pub(crate) fn new(inner: TcpListener) -> GuardedListener {
        GuardedListener::with_limits(inner, MAX_CONNECTIONS, IDLE_TIMEOUT, MAX_LIFETIME)
    }

    pub(crate) fn with_limits(
        inner: TcpListener,
        max: usize,
        idle: Duration,
        lifetime: Duration,
    ) -> GuardedListener {
        GuardedListener {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            idle,
            lifetime,
        }
    }
}

impl Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedStream, SocketAddr) {
        let mut reported = false;
        loop {
            // The semaphore is never closed, so this only waits.
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let now = Instant::now();
                    let closes_at = now + self.lifetime;
                    return (
                        GuardedStream {
                            inner: stream,
                            idle: self.idle,
                            closes_at,
                            timer: Box::pin(tokio::time::sleep_until((now + self.idle).min(closes_at))),
                            _permit: permit,
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Once per streak: a full descriptor table fails every accept.
                    if !reported {
                        tracing::warn!(
                            "HTTP accept failed: {e} (retrying every {} ms)",
                            ACCEPT_ERROR_PAUSE.as_millis()
                        );
                        reported = true;
                    }
                    drop(permit);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails with `TimedOut` when idle too long or past its lifetime; holds one
/// of the listener's connection permits until dropped.
pub(crate) struct GuardedStream {
    inner: TcpStream,
    idle: Duration,
    closes_at: Instant,
    timer: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl GuardedStream {
    /// Progress was made: the idle clock starts again (never past the lifetime).
    fn touch(&mut self) {
        let next = (Instant::now() + self.idle).min(self.closes_at);
        self.timer.as_mut().reset(next);
    }

    /// Called when the inner stream is not ready: has the timer run out?
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "HTTP connection idle or too old; closed")
}

impl AsyncRead for GuardedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.touch();
                Poll::Ready(r)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Raise the soft open-files limit to the hard one (the default soft limit, often 1024, is
/// what a burst of connections exhausts first). Returns (old soft, new soft) when raised.
pub fn raise_fd_limit() -> Option<(u64, u64)> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let (soft, hard) = (lim.current?, lim.maximum);
    let target = hard.unwrap_or(soft.max(1 << 20));
    if target <= soft {
        return None;
    }
    lim.current = Some(target);
    setrlimit(Resource::Nofile, lim).ok()?;
    Some((soft, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn connections_beyond_the_cap_wait_until_an_idle_one_is_closed() {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(std_listener).unwrap();
                let guarded =
                    GuardedListener::with_limits(l, 1, Duration::from_millis(300), Duration::from_secs(30));
                let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
                axum::serve(guarded, app).await.unwrap();
            });
        });
        // The one slot, held by a client that sends nothing.
        let mut idle = std::net::TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        // A second client is served once the idle one is closed for being idle.
        let mut second = std::net::TcpStream::connect(addr).unwrap();
        second.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(second, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        second.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("hi"),
            "{answer}"
        );
        idle.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(idle.read(&mut buf).unwrap(), 0, "the idle connection was closed");
    }
}
