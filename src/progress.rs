//! Progress of long work, told by the layers that do it (import, the lake's sync) without
//! printing: they call [`stage`] and [`bytes`], and the command layer installs the [`Sink`]
//! that shows it (an indicatif bar on stderr, `output::progress`). With no sink installed
//! (tests, the library) the calls cost one atomic load.

use std::sync::OnceLock;

pub trait Sink: Send + Sync {
    /// A new step of the work, e.g. "reading 2,000 run files".
    fn stage(&self, msg: &str);
    /// `n` more bytes of input read.
    fn bytes(&self, n: u64);
}

static SINK: OnceLock<Box<dyn Sink>> = OnceLock::new();

/// Installs the process's sink; the first one stays.
pub fn install(sink: Box<dyn Sink>) {
    let _ = SINK.set(sink);
}

pub fn stage(msg: &str) {
    if let Some(s) = SINK.get() {
        s.stage(msg);
    }
}

pub fn bytes(n: u64) {
    if let Some(s) = SINK.get() {
        s.bytes(n);
    }
}
