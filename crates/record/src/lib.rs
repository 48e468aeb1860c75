//! headroom's flight recorder: a crash-safe rolling history of what each pass read (raw
//! cgroup samples and the Summary), what it decided, and the kernel events around it; and the
//! readers behind `headroom replay` and `headroom incidents`.
//!
//! * [`store`]: the SQLite recording (schema, retention, crash safety);
//! * [`leaf_delta`]: a pass stored as its binary difference from the pass before;
//! * [`model`]: what a pass holds;
//! * [`pass_time`]: the pass time stored once, not in every stats object;
//! * [`recorder`]: the writing side, one call per pass;
//! * [`incidents`]: evictions, OOM kills and MemoryPressure episodes found in a recording.

pub mod incidents;
pub mod leaf_delta;
pub mod model;
pub mod pass_time;
pub mod recorder;
pub mod store;

pub use recorder::{PassInput, Recorder};
pub use store::{RecordingMeta, Retention, Store, StoreError};
