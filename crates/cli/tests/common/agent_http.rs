//! Talking to a running `headroom agent` in tests: one `GET`, and a counter's value in a
//! classic-format scrape. Included with `#[path = "common/agent_http.rs"]`.
#![allow(dead_code)] // each including test file uses its own part

use std::net::SocketAddr;
use std::time::Duration;

/// `GET path` (one connection, `Connection: close`); `None` when connecting or reading fails.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The sum of the samples whose line starts with `prefix` (a name, or a name and labels).
pub fn metric_sum(scrape: &str, prefix: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(prefix) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
