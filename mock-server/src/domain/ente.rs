//! Which Ente of the running mock a call, a notification or a stream belongs to.

use serde::{Deserialize, Serialize};

/// An Ente of the mock: its place in the configured Enti. A data dir is bound to its Enti list
/// (the journal refuses another), so an id means the same Ente across restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnteId(usize);

impl EnteId {
    pub const fn new(index: usize) -> EnteId {
        EnteId(index)
    }

    /// Its place in the configured Enti.
    pub const fn index(self) -> usize {
        self.0
    }
}

impl std::fmt::Display for EnteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ente {}", self.0)
    }
}
