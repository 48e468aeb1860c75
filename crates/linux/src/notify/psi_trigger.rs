//! PSI triggers (`some|full <stall_us> <window_us>`) on `/proc/pressure/memory` or a cgroup2
//! `memory.pressure`, and the unprivileged 2 s window rule.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::io::Errno;

use super::{NotifyError, io_err};

/// `some` (at least one task stalled) or `full` (all non-idle tasks stalled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsiKind {
    Some,
    Full,
}

impl PsiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PsiKind::Some => "some",
            PsiKind::Full => "full",
        }
    }
}

/// A registered PSI trigger: the kernel raises `POLLPRI` on the descriptor at most once per
/// window when tasks stalled on memory for more than `stall` within `window`.
pub struct PsiTrigger {
    pub(super) fd: OwnedFd,
    pub(super) path: PathBuf,
    pub(super) trigger: String,
    window: Duration,
}

/// Unprivileged PSI triggers must use windows that are a multiple of this (kernel psi.c).
const UNPRIVILEGED_WINDOW_STEP_US: u64 = 2_000_000;
/// The kernel's upper bound on a trigger window.
const MAX_WINDOW_US: u64 = 10_000_000;

impl PsiTrigger {
    /// Register `<kind> <stall_us> <window_us>` on `path` (`/proc/pressure/memory` or a
    /// cgroup2 `memory.pressure`). The text is written with a trailing NUL, as the kernel
    /// documentation does.
    pub fn register(
        path: &Path,
        kind: PsiKind,
        stall: Duration,
        window: Duration,
    ) -> Result<PsiTrigger, NotifyError> {
        let fd = rustix::fs::open(
            path,
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| io_err("open (read-write) for a PSI trigger", path, e.into()))?;
        let trigger = format!("{} {} {}", kind.as_str(), stall.as_micros(), window.as_micros());
        let mut bytes = trigger.clone().into_bytes();
        bytes.push(0);
        match rustix::io::write(&fd, &bytes) {
            Ok(_) => Ok(PsiTrigger {
                fd,
                path: path.to_path_buf(),
                trigger,
                window,
            }),
            Err(errno) if errno == Errno::INVAL || errno == Errno::PERM || errno == Errno::BUSY => {
                Err(NotifyError::PsiRejected {
                    path: path.to_path_buf(),
                    trigger,
                    errno,
                })
            }
            Err(errno) => Err(io_err("write a PSI trigger to", path, errno.into())),
        }
    }

    /// Like [`register`](Self::register), but when the kernel rejects the window with EINVAL
    /// (the process lacks `CAP_SYS_RESOURCE`), retry with the window rounded up to the next
    /// multiple of 2 s (stall scaled by the same factor, capped at the window). Returns the
    /// trigger and, when a fallback was used, a sentence for the log saying so.
    pub fn register_or_widen(
        path: &Path,
        kind: PsiKind,
        stall: Duration,
        window: Duration,
    ) -> Result<(PsiTrigger, Option<String>), NotifyError> {
        match PsiTrigger::register(path, kind, stall, window) {
            Ok(t) => Ok((t, None)),
            Err(NotifyError::PsiRejected { errno, .. }) if errno == Errno::INVAL => {
                let Some((wide_stall, wide_window)) = unprivileged_window(stall, window) else {
                    return PsiTrigger::register(path, kind, stall, window).map(|t| (t, None));
                };
                let t = PsiTrigger::register(path, kind, wide_stall, wide_window)?;
                let note = format!(
                    "PSI trigger \"{} {} {}\" on {} was refused (EINVAL: no CAP_SYS_RESOURCE?); \
                     using \"{}\" instead: pressure events arrive on 2 s ticks",
                    kind.as_str(),
                    stall.as_micros(),
                    window.as_micros(),
                    path.display(),
                    t.trigger
                );
                Ok((t, Some(note)))
            }
            Err(e) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trigger text as registered, e.g. `some 150000 2000000`.
    pub fn trigger(&self) -> &str {
        &self.trigger
    }

    pub fn window(&self) -> Duration {
        self.window
    }
}

/// The unprivileged equivalent of a trigger: window rounded up to a multiple of 2 s (at most
/// 10 s), stall scaled by the same factor. None if the window already is such a multiple.
pub fn unprivileged_window(stall: Duration, window: Duration) -> Option<(Duration, Duration)> {
    let window_us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
    if window_us > 0 && window_us % UNPRIVILEGED_WINDOW_STEP_US == 0 && window_us <= MAX_WINDOW_US {
        return None;
    }
    let wide_us = window_us
        .div_ceil(UNPRIVILEGED_WINDOW_STEP_US)
        .clamp(1, MAX_WINDOW_US / UNPRIVILEGED_WINDOW_STEP_US)
        * UNPRIVILEGED_WINDOW_STEP_US;
    let stall_us = u64::try_from(stall.as_micros()).unwrap_or(u64::MAX);
    let scaled = if window_us == 0 {
        stall_us
    } else {
        (u128::from(stall_us) * u128::from(wide_us) / u128::from(window_us)) as u64
    };
    Some((
        Duration::from_micros(scaled.clamp(1, wide_us)),
        Duration::from_micros(wide_us),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprivileged_windows_round_up_to_two_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(unprivileged_window(ms(150), ms(1000)), Some((ms(300), ms(2000))));
        assert_eq!(
            unprivileged_window(ms(100), ms(3000)),
            Some((Duration::from_micros(133_333), ms(4000)))
        );
        assert_eq!(unprivileged_window(ms(150), ms(2000)), None);
        assert_eq!(
            unprivileged_window(ms(150), ms(20_000)),
            Some((ms(75), ms(10_000)))
        );
    }
}
