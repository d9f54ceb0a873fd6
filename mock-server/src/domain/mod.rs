//! The SEND domain: no HTTP in here. Values that exist are valid (parse, don't validate).

pub mod builtin;
pub mod clock;
pub mod details;
pub mod downtime;
pub mod engine;
pub mod ente;
pub mod gpd;
pub mod iun;
pub mod legal_fact;
pub mod library;
pub mod pdf;
pub mod pdnd;
pub mod presign;
pub mod price;
pub mod refusal;
pub mod request;
pub mod rules;
pub mod schema;
pub mod script;
pub mod status;
pub mod stream;
pub mod tax_id;
pub mod timeline;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod properties_tests;
