//! The client checklist: what a PT's own integration did, judged against the five test cases.

pub mod call;
pub mod engine;
