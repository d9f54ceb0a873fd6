//! The client checklist: what a PT's own integration did, judged against the five test cases.
//! Shared by the mock (which records every call a client makes) and the harness (which judges
//! its own transcript, and a PT's calls through its proxy): one route table ([`Op::of`]) and
//! one set of checks for both.
//!
//! The API is small: a call log ([`Call`]s, as the mock's recorder or a harness transcript
//! keeps them) goes in, [`evaluate`] judges it with the Ente's [`Options`], and a tree of
//! [`Check`]s comes out, which [`validator_shape`] writes in PagoPA's validator's shape.

mod call;
#[cfg(test)]
mod checks_tests;
mod downloads;
mod engine;
mod facts;
#[cfg(test)]
mod order_tests;
mod price;
mod send;
mod streams;
#[cfg(test)]
mod test_log;

/// The checklist tree as HTML list items, for a minijinja page that includes it by this name
/// inside its `<ul>`; the page's context gives `checks` and its words `t.exempt` and `t.calls`.
pub const TREE_TEMPLATE: (&str, &str) = (
    "checklist-tree.html",
    include_str!("../templates/tree.html"),
);

pub use call::{Call, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS, Op, storage_path};
pub use engine::{Check, Options, evaluate, validator_shape};
