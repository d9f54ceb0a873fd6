//! Every timeline element in emission order, with the status after it: what the streams read.

use crate::domain::iun::Iun;
use crate::domain::status::Status;

/// One emitted timeline element.
#[derive(Debug, Clone)]
pub struct EmittedEvent {
    pub seq: u64,
    pub ente: usize,
    pub iun: Iun,
    /// Index of the element in the notification's timeline.
    pub element_index: usize,
    /// The status after this element.
    pub status_after: Status,
    /// Set when this element changed the status.
    pub new_status: Option<Status>,
}

#[derive(Debug, Default)]
pub struct EventLog {
    pub events: Vec<EmittedEvent>,
}

impl EventLog {
    /// Appends an event; returns its sequence number (1-based position in the log).
    pub fn push(
        &mut self,
        ente: usize,
        iun: &Iun,
        element_index: usize,
        status_after: Status,
        new_status: Option<Status>,
    ) -> u64 {
        let seq = self.events.len() as u64 + 1;
        self.events.push(EmittedEvent {
            seq,
            ente,
            iun: iun.clone(),
            element_index,
            status_after,
            new_status,
        });
        seq
    }
}
