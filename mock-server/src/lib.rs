//! A mock of SEND for sending PAs.
pub mod domain;
