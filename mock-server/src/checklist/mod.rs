//! The client checklist: what a PT's own integration did, judged against the five test cases.
//!
//! The API is small: a call log ([`Call`]s, as the mock's recorder or a harness transcript
//! keeps them) goes in, [`evaluate`] judges it with the Ente's [`Options`], and a tree of
//! [`Check`]s comes out, which [`validator_shape`] writes in PagoPA's validator's shape.

pub(crate) mod call;
mod downloads;
pub(crate) mod engine;
mod facts;
#[cfg(test)]
mod order_tests;
mod price;
mod send;
mod streams;

pub use call::{Call, KEPT_REQUEST_HEADERS, KEPT_RESPONSE_HEADERS, storage_path};
pub use engine::{Check, Options, evaluate, validator_shape};
