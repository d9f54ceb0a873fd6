//! The client checklist: what a PT's own integration did, judged against the five test cases.

pub mod call;
mod downloads;
pub mod engine;
mod facts;
#[cfg(test)]
mod order_tests;
mod price;
mod send;
mod streams;
