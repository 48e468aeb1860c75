//! headroom-lab: experiments on the real kernel that show page cache moving in and out of
//! the kubelet's working set.

pub mod hot_cache;
pub mod page_cache;
pub mod plot;
pub mod snapshot;
