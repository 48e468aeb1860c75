//! headroom-lab: experiments on the real kernel that show page cache moving in and out of
//! the kubelet's working set.
//!
//! * [`page_cache`]: write / sync / read / read again / delete a file inside a fresh memory
//!   cgroup and show where the page cache lands (inactive: ignored by the kubelet; active:
//!   counted as working set).
//! * [`hot_cache`]: fill a limited cgroup with active cache, then allocate anonymous memory
//!   until the kernel reclaims the cache or OOM-kills the allocator; measures the window in
//!   which a kubelet-style evictor would see pressure that the kernel resolves by itself.
//! * [`worker`]: the jobs of the hidden `headroom worker` subcommand (file writer/reader,
//!   paced anonymous allocator with a [`heartbeat`] file).

pub mod cleanup;
pub mod heartbeat;
pub mod hot_cache;
pub mod page_cache;
pub mod plot;
pub mod size;
pub mod snapshot;
pub mod worker;
pub mod yardstick;

/// Text reports fit this many columns (as `headroom status` does); tables are narrower.
pub const TEXT_WIDTH: usize = 100;
