//! Kubelet command-line flags (as `headroom check-config -- <flags>` takes them), one argument
//! per line -> `KubeletConfig::from_flags` -> overlay on the defaults -> `eviction()` -> `lint`;
//! and each line through the Go-compatible scalar parsers the flags use.
//!
//! Properties: a parsed Go duration prints (`time.Duration.String()`) and re-parses to the same
//! nanoseconds; a parsed float32 prints and re-parses to the same bits.
#![no_main]

use headroom_core::config::KubeletConfig;
use headroom_core::duration::{format_duration, parse_duration};
use headroom_core::go_float::parse_float32;
use headroom_core::lint::lint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args: Vec<String> = text.lines().take(64).map(str::to_string).collect();
    for arg in &args {
        if let Ok(ns) = parse_duration(arg) {
            let printed = format_duration(ns);
            assert_eq!(
                parse_duration(&printed).ok(),
                Some(ns),
                "{arg:?} printed as {printed:?}"
            );
        }
        if let Ok(f) = parse_float32(arg) {
            let printed = f.to_string();
            let again = parse_float32(&printed).map(f32::to_bits);
            assert_eq!(again.ok(), Some(f.to_bits()), "{arg:?} printed as {printed:?}");
        }
    }
    let Ok(flags) = KubeletConfig::from_flags(&args) else {
        return;
    };
    let config = KubeletConfig::default().overlay(&flags);
    if let Ok(eviction) = config.eviction() {
        let _ = lint(&config, &eviction);
    }
});
