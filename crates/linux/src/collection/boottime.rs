//! The node's boot time, which the kubelet prints as `node.startTime` in the Summary.
//!
//! The kubelet takes the `btime` field of `/proc/stat` (seconds since the epoch). Its fallback
//! when that fails, `sysinfo()` uptime, describes the machine running the reader, not a
//! captured host, so headroom leaves the time unset instead.

use jiff::Timestamp;

/// The `btime` of a `/proc/stat` text: the token after the first `btime` token.
/// `None` when there is none or it is not an integer number of seconds.
pub fn parse_btime(proc_stat: &str) -> Option<Timestamp> {
    let mut tokens = proc_stat.split_whitespace();
    tokens.find(|t| *t == "btime")?;
    let seconds = tokens.next()?.parse::<i64>().ok()?;
    Timestamp::from_second(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btime_is_the_token_after_btime() {
        let text = "cpu  1 2 3\nintr 9 8\nctxt 77\nbtime 1764316800\nprocesses 5\n";
        assert_eq!(
            parse_btime(text),
            Some(Timestamp::from_second(1_764_316_800).unwrap())
        );
        assert_eq!(parse_btime("cpu 1 2\n"), None);
        assert_eq!(parse_btime("btime soon\n"), None);
        assert_eq!(parse_btime("btime"), None);
    }
}
