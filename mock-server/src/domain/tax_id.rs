//! Italian tax ids: the checks live in the wire model, shared with the harness.

pub use send_wire::tax_id::TaxId;
