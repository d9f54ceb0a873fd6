//! Every timeline element in emission order, with the status after it: what the streams read.

use crate::domain::ente::EnteId;
use crate::domain::iun::Iun;
use crate::domain::status::Status;

/// One emitted timeline element. Its sequence number is its 1-based position in the log; the
/// log holds one entry per element of every notification, so entries are kept small.
#[derive(Debug, Clone)]
pub struct EmittedEvent {
    pub iun: Iun,
    ente: u32,
    element_index: u32,
    /// The status after this element.
    pub status_after: Status,
    /// Set when this element changed the status.
    pub new_status: Option<Status>,
}

impl EmittedEvent {
    pub fn ente(&self) -> EnteId {
        EnteId::new(self.ente as usize)
    }
    /// Index of the element in the notification's timeline.
    pub fn element_index(&self) -> usize {
        self.element_index as usize
    }
}

#[derive(Debug, Default)]
pub struct EventLog {
    pub events: Vec<EmittedEvent>,
}

impl EventLog {
    /// Appends an event; returns its sequence number (1-based position in the log).
    pub fn push(
        &mut self,
        ente: EnteId,
        iun: &Iun,
        element_index: usize,
        status_after: Status,
        new_status: Option<Status>,
    ) -> u64 {
        // Enti come from a configuration file and a timeline ends at a few dozen elements.
        self.events.push(EmittedEvent {
            iun: iun.clone(),
            ente: u32::try_from(ente.index()).expect("fewer than 2^32 Enti"),
            element_index: u32::try_from(element_index).expect("a timeline of < 2^32 elements"),
            status_after,
            new_status,
        });
        self.events.len() as u64
    }

    /// The event with sequence number `seq`.
    pub fn get(&self, seq: u64) -> Option<&EmittedEvent> {
        self.events.get(usize::try_from(seq).ok()?.checked_sub(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_stays_small_and_numbers_follow_positions() {
        assert!(std::mem::size_of::<EmittedEvent>() <= 32);
        let iun = Iun::parse("AAAA-AAAA-AAAA-202611-A-1").unwrap();
        let mut log = EventLog::default();
        assert_eq!(
            log.push(EnteId::new(3), &iun, 0, Status::IN_VALIDATION, None),
            1
        );
        assert_eq!(
            log.push(
                EnteId::new(3),
                &iun,
                1,
                Status::ACCEPTED,
                Some(Status::ACCEPTED)
            ),
            2
        );
        let e = log.get(2).unwrap();
        assert_eq!((e.ente(), e.element_index()), (EnteId::new(3), 1));
        assert!(log.get(0).is_none() && log.get(3).is_none());
    }
}
