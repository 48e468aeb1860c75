//! `headroom top`: the live view of this node's memory as the kubelet's eviction manager sees
//! it. One frame is the status report (`crate::status`: the same input -> build, the core's
//! `synchronize` and ranking, no second copy of the threshold math) plus a short history.
//!
//! * [`sample`]: one refresh: read the host, build the status report;
//! * [`history`]: memory.available (and allocatable) over the last minutes, from our own
//!   samples or from a flight recording ([`recording`], read-only while it is written);
//! * [`model`]: what one frame shows; [`keys`]: the view state and what each key does;
//! * [`layout`]: where each section goes at a given size (80x24 up, degrading below);
//! * [`widgets`]: the sections, drawn into a ratatui buffer;
//! * [`plain`]: a buffer as plain text (`--once`); [`terminal`]: the interactive loop, with the
//!   terminal restored on every way out.

pub mod history;
pub mod keys;
pub mod layout;
pub mod model;
pub mod plain;
pub mod recording;
pub mod sample;
pub mod terminal;
pub mod widgets;

#[cfg(test)]
mod interactive_tests;
