//! YAML/JSON config text -> KubeletConfig::parse -> eviction() -> lint + node allocatable:
//! errors are fine, panics are not.
#![no_main]

use headroom_core::allocatable::node_allocatable_memory;
use headroom_core::config::KubeletConfig;
use headroom_core::lint::lint;
use headroom_core::quantity::Quantity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = KubeletConfig::parse(text, "fuzz.yaml") else { return };
    let Ok(eviction) = config.eviction() else { return };
    let _ = lint(&config, &eviction);
    for cap in [1i64, 16 << 30, i64::MAX] {
        let _ = node_allocatable_memory(Quantity::bytes(cap), &eviction);
    }
});
