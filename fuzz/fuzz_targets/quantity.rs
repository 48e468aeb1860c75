//! Any string: `Quantity::parse` must not panic, and a parsed quantity must print to a string
//! that parses back to the same value.
#![no_main]

use headroom_core::quantity::Quantity;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = Quantity::parse(text) else { return };
    let printed = q.to_string();
    let back = Quantity::parse(&printed).unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
    assert_eq!(back, q, "{text:?} printed as {printed:?}");
    let _ = (q.value(), q.milli_value());
});
